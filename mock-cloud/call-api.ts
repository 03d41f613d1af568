/**
 * `POST /api/call`: a Call-URL as one JSON request and one JSON answer (CONTRACT "Mock cloud
 * HTTP API"). Bodies are buffered here, so they are capped at `maxBufferedBytes`; streaming
 * belongs to the relay endpoints. Because the request body is held whole, a call refused by a
 * draining bridge moves to another one (route-call). Each call ends up in the recent calls.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { OutbridgeError, codeOf } from '../protocol/errors.js'
import type { HeaderList } from '../protocol/frames.js'
import { HEAD_LIMITS } from '../protocol/version.js'
import { isValidHeaderName } from '../agent/headers.js'
import { sendError, sendJson } from './http-errors.js'
import { CallTrace } from './recent-calls.js'
import type { BridgeRegistry } from './registry.js'
import { readBody } from './read-body.js'
import { RoutedCall, cancelWhenCallerLeaves } from './route-call.js'
import type { CallHandler } from './tunnel-call.js'
import { encodeBody } from './body-encoding.js'

export interface CallApiOptions {
  readonly registry: BridgeRegistry
  /** Cap on the buffered request and response bodies, in bytes. */
  readonly maxBufferedBytes: number
}

interface CallInput {
  readonly bridge?: string
  readonly method: string
  readonly url: string
  readonly headers: HeaderList
  readonly body?: Buffer
  readonly timeoutMs: number
  readonly credential?: string
  readonly followRedirects?: boolean
}

/** Answers one `POST /api/call` and records it in the registry's recent calls. */
export async function handleCall (req: IncomingMessage, res: ServerResponse, options: CallApiOptions): Promise<void> {
  const trace = new CallTrace(options.registry.recentCalls, 'call')
  let input: CallInput
  try {
    // base64 makes the JSON up to 4/3 of the body, plus the envelope.
    const raw = await readBody(req, Math.ceil(options.maxBufferedBytes * 4 / 3) + 64 * 1024)
    input = parseCall(raw)
    // The JSON cap above allows for base64; the decoded body itself is held to the limit.
    if ((input.body?.byteLength ?? 0) > options.maxBufferedBytes) {
      throw new OutbridgeError('BODY_TOO_LARGE', `the request body exceeds ${options.maxBufferedBytes} bytes`)
    }
  } catch (err) {
    const code = codeOf(err, 'BAD_REQUEST')
    sendError(res, code, err instanceof OutbridgeError ? err.message : 'malformed request')
    trace.finish(null, code)
    return
  }
  trace.method = input.method
  trace.url = input.url
  trace.requestBytes = input.body?.byteLength ?? 0
  let call: RoutedCall
  try {
    const tooLarge = (message: string): void => call.fail('BODY_TOO_LARGE', message, true)
    call = new RoutedCall(options.registry, { ...input, hasBody: input.body !== undefined }, bufferAnswer(res, trace, options.maxBufferedBytes, tooLarge))
  } catch (err) {
    const code = codeOf(err)
    sendError(res, code, (err as Error).message)
    trace.finish(null, code)
    return
  }
  cancelWhenCallerLeaves(res, call, trace)
}

/**
 * A handler that collects the answer and sends it as one JSON object; past `limit` body bytes
 * it calls `tooLarge` instead, which fails the call.
 */
function bufferAnswer (res: ServerResponse, trace: CallTrace, limit: number, tooLarge: (message: string) => void): CallHandler {
  const chunks: Uint8Array[] = []
  let headers: HeaderList = []
  return {
    onHead (status, list) {
      trace.status = status
      headers = list
    },
    onData (chunk, done) {
      trace.responseBytes += chunk.byteLength
      if (trace.responseBytes > limit) {
        tooLarge(`the response body exceeds ${limit} bytes`)
        return
      }
      chunks.push(Buffer.from(chunk))
      done()
    },
    onEnd () {
      const body = Buffer.concat(chunks, trace.responseBytes)
      sendJson(res, 200, { status: trace.status, headers: headerObject(headers), ...encodeBody(body) }, { 'x-outbridge-bridge': trace.call?.session.name ?? '' })
      trace.finish(trace.status, null)
    },
    onError (code, message) {
      sendError(res, code, message)
      trace.finish(trace.status, code)
    }
  }
}

function parseCall (raw: Buffer): CallInput {
  let value: unknown
  try {
    value = JSON.parse(raw.toString('utf8'))
  } catch {
    throw new OutbridgeError('BAD_REQUEST', 'the request body is not valid JSON')
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new OutbridgeError('BAD_REQUEST', 'the request body must be a JSON object')
  const v = value as Record<string, unknown>
  const url = v.url
  if (typeof url !== 'string' || !isHttpUrl(url)) throw new OutbridgeError('BAD_REQUEST', '"url" must be an absolute http(s) URL')
  const method = v.method ?? 'GET'
  if (typeof method !== 'string' || !/^[A-Za-z]{1,20}$/.test(method)) throw new OutbridgeError('BAD_REQUEST', '"method" must be an HTTP method')
  const timeoutMs = v.timeoutMs ?? 0
  if (typeof timeoutMs !== 'number' || !Number.isInteger(timeoutMs) || timeoutMs < 0 || timeoutMs > 3_600_000) {
    throw new OutbridgeError('BAD_REQUEST', '"timeoutMs" must be an integer from 0 to 3600000')
  }
  for (const key of ['bridge', 'credential'] as const) {
    if (v[key] !== undefined && typeof v[key] !== 'string') throw new OutbridgeError('BAD_REQUEST', `"${key}" must be a string`)
  }
  if (v.followRedirects !== undefined && typeof v.followRedirects !== 'boolean') throw new OutbridgeError('BAD_REQUEST', '"followRedirects" must be a boolean')
  return {
    bridge: v.bridge as string | undefined,
    method: method.toUpperCase(),
    url,
    headers: headerList(v.headers),
    body: bodyOf(v.body, v.bodyEncoding),
    timeoutMs,
    credential: v.credential as string | undefined,
    followRedirects: v.followRedirects as boolean | undefined
  }
}

/** True for an absolute http: or https: URL. */
export function isHttpUrl (url: string): boolean {
  try {
    const u = new URL(url)
    return u.protocol === 'http:' || u.protocol === 'https:'
  } catch {
    return false
  }
}

function headerList (value: unknown): HeaderList {
  if (value === undefined || value === null) return []
  if (typeof value !== 'object' || Array.isArray(value)) throw new OutbridgeError('BAD_REQUEST', '"headers" must be an object of names to strings')
  const out: HeaderList = []
  for (const [name, v] of Object.entries(value)) {
    const values: unknown[] = Array.isArray(v) ? v : [v]
    if (!isValidHeaderName(name)) throw new OutbridgeError('BAD_REQUEST', `"${name.slice(0, 64)}" is not a valid header name`)
    for (const item of values) {
      if (typeof item !== 'string') throw new OutbridgeError('BAD_REQUEST', `header "${name.slice(0, 64)}" must be a string or an array of strings`)
      out.push(name.toLowerCase(), item)
    }
  }
  if (out.length > HEAD_LIMITS.maxHeaders * 2) throw new OutbridgeError('BAD_REQUEST', `more than ${HEAD_LIMITS.maxHeaders} headers`)
  return out
}

function bodyOf (body: unknown, encoding: unknown): Buffer | undefined {
  if (body === undefined || body === null) return undefined
  if (typeof body !== 'string') throw new OutbridgeError('BAD_REQUEST', '"body" must be a string')
  if (encoding === 'base64') {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body)) throw new OutbridgeError('BAD_REQUEST', '"body" is not valid base64')
    return Buffer.from(body, 'base64')
  }
  if (encoding !== undefined && encoding !== 'utf8' && encoding !== 'utf-8') throw new OutbridgeError('BAD_REQUEST', '"bodyEncoding" must be "base64" or "utf8"')
  return Buffer.from(body, 'utf8')
}

/** Lower-case names; a repeated header becomes an array. */
export function headerObject (flat: HeaderList): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = Object.create(null) as Record<string, string | string[]>
  for (let i = 0; i < flat.length; i += 2) {
    const name = flat[i].toLowerCase()
    const prev = out[name]
    if (prev === undefined) out[name] = flat[i + 1]
    else if (Array.isArray(prev)) prev.push(flat[i + 1])
    else out[name] = [prev, flat[i + 1]]
  }
  return out
}
