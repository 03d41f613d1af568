/**
 * Field-by-field validation of decoded heads. Each validator takes the untrusted value msgpackr
 * produced and builds a fresh frame from known fields only (unknown fields are ignored, so
 * nothing a peer sends can reach a prototype or an option bag). Readers throw `Invalid`
 * internally; `validateHead` turns that into a returned message, so nothing escapes.
 */
import { isErrorCode, type ErrorCode } from './errors.js'
import type { Frame, HeaderList, PeerLimits } from './frames.js'
import { HEAD_LIMITS } from './version.js'

type Head = Readonly<Record<string, unknown>>

class Invalid extends Error {}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
const MAX_TEXT = 4096

function asHead (value: unknown, what: string): Head {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Uint8Array) {
    throw new Invalid(`${what} must be a map`)
  }
  return value as Head
}

function uint (head: Head, name: string, max = 0xffffffff, fallback?: number): number {
  const v = head[name] ?? fallback
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) {
    throw new Invalid(`field "${name}" must be an integer from 0 to ${max}`)
  }
  return v
}

function str (head: Head, name: string, max = MAX_TEXT, fallback?: string): string {
  const v = head[name] ?? fallback
  if (typeof v !== 'string' || v.length > max) throw new Invalid(`field "${name}" must be a string of at most ${max} characters`)
  return v
}

function optionalStr (head: Head, name: string, max: number): string | undefined {
  return head[name] === undefined || head[name] === null ? undefined : str(head, name, max)
}

function bool (head: Head, name: string): boolean {
  const v = head[name] ?? false
  if (typeof v !== 'boolean') throw new Invalid(`field "${name}" must be a boolean`)
  return v
}

function code (head: Head): ErrorCode {
  const v = head.code
  // An unknown code from a newer peer is still an error: keep the stream semantics, widen the code.
  return isErrorCode(v) ? v : 'INTERNAL_ERROR'
}

function strings (head: Head, name: string, maxItems: number, maxLen: number): string[] {
  const v = head[name] ?? []
  if (!Array.isArray(v) || v.length > maxItems || !v.every((s) => typeof s === 'string' && s.length <= maxLen)) {
    throw new Invalid(`field "${name}" must be an array of at most ${maxItems} strings`)
  }
  return v.slice() as string[]
}

function headers (head: Head): HeaderList {
  const v = head.headers ?? []
  if (!Array.isArray(v) || v.length % 2 !== 0) throw new Invalid('field "headers" must be a flat array of name/value pairs')
  if (v.length > HEAD_LIMITS.maxHeaders * 2) throw new Invalid(`more than ${HEAD_LIMITS.maxHeaders} headers`)
  const out: HeaderList = new Array<string>(v.length)
  for (let i = 0; i < v.length; i++) {
    const s: unknown = v[i]
    if (typeof s !== 'string') throw new Invalid('header names and values must be strings')
    if (i % 2 === 0 && !TOKEN.test(s)) throw new Invalid('invalid header name')
    out[i] = s
  }
  return out
}

function limits (value: unknown): PeerLimits {
  const head = asHead(value, 'field "limits"')
  const out = {
    maxMessageBytes: uint(head, 'maxMessageBytes', Number.MAX_SAFE_INTEGER),
    maxFrameBytes: uint(head, 'maxFrameBytes', Number.MAX_SAFE_INTEGER),
    initialWindow: uint(head, 'initialWindow', 0x7fffffff),
    maxStreams: uint(head, 'maxStreams', 0x7fffffff),
    maxBodyBytes: uint(head, 'maxBodyBytes', Number.MAX_SAFE_INTEGER)
  }
  if (out.maxFrameBytes < 1024 || out.maxFrameBytes + 10 > out.maxMessageBytes) {
    throw new Invalid('limits.maxFrameBytes must be at least 1024 and fit in limits.maxMessageBytes')
  }
  return out
}

type HeadType = 'hello' | 'welcome' | 'request' | 'response' | 'reset' | 'goaway' | 'error'

function build (type: HeadType, stream: number, end: boolean, h: Head): Frame {
  switch (type) {
    case 'hello': {
      const versions = h.versions
      if (!Array.isArray(versions) || versions.length === 0 || versions.length > 32 ||
        !versions.every((v) => Number.isInteger(v) && v > 0 && v < 10000)) {
        throw new Invalid('field "versions" must be a non-empty array of version numbers')
      }
      const name = str(h, 'name', 128)
      if (name.length === 0) throw new Invalid('field "name" must not be empty')
      return { type, versions: versions.slice() as number[], name, agent: str(h, 'agent', 64, ''), capabilities: strings(h, 'capabilities', 64, 64), limits: limits(h.limits) }
    }
    case 'welcome':
      return { type, version: uint(h, 'version', 9999), session: str(h, 'session', 128), heartbeatMs: uint(h, 'heartbeatMs'), limits: limits(h.limits) }
    case 'request': {
      const method = str(h, 'method', 32)
      if (!TOKEN.test(method)) throw new Invalid('field "method" must be an HTTP token')
      const url = str(h, 'url', HEAD_LIMITS.maxUrlLength)
      const credential = optionalStr(h, 'credential', 64)
      const frame = { type, stream, end, method, url, headers: headers(h), timeoutMs: uint(h, 'timeoutMs', 0x7fffffff, 0), followRedirects: bool(h, 'followRedirects') }
      return credential === undefined ? frame : { ...frame, credential }
    }
    case 'response': {
      const status = uint(h, 'status', 999)
      if (status < 100) throw new Invalid('field "status" must be from 100 to 999')
      return { type, stream, end, status, headers: headers(h) }
    }
    case 'reset':
      return { type, stream, code: code(h), message: str(h, 'message', MAX_TEXT, '') }
    case 'goaway':
    case 'error':
      return { type, code: code(h), message: str(h, 'message', MAX_TEXT, '') }
  }
}

/** Builds a typed frame from a decoded head, or returns what is wrong with it. */
export function validateHead (type: HeadType, stream: number, end: boolean, head: unknown): Frame | string {
  try {
    return build(type, stream, end, asHead(head, `${type.toUpperCase()} head`))
  } catch (err) {
    if (err instanceof Invalid) return `${type.toUpperCase()}: ${err.message}`
    throw err
  }
}

export type { HeadType }
