/**
 * `POST /api/call`: a Call-URL as one JSON request and one JSON answer (CONTRACT "Mock cloud
 * HTTP API"). Bodies are buffered here, so they are capped at `maxBufferedBytes`; streaming
 * belongs to the relay endpoints. Because the request body is held whole, a call refused by a
 * draining bridge moves to another one (route-call). Each call ends up in the recent calls.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { OutbridgeError, codeOf } from '../protocol/errors.js'
import type { HeaderList } from '../protocol/frames.js'
import { sendError, sendJson } from './http-errors.js'
import { displayUrl } from './recent-calls.js'
import type { BridgeRegistry } from './registry.js'
import { readBody } from './read-body.js'
import { RoutedCall } from './route-call.js'

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
}

/** Answers one `POST /api/call` and records it in the registry's recent calls. */
export async function handleCall (req: IncomingMessage, res: ServerResponse, options: CallApiOptions): Promise<void> {
  const startedAt = Date.now()
  const t0 = performance.now()
  let input: CallInput | undefined
  let call: RoutedCall | undefined
  let size = 0
  let recorded = false
  function record (status: number | null, code: string | null): void {
    if (recorded) return
    recorded = true
    options.registry.recentCalls.record({
      startedAt,
      api: 'call',
      bridge: call?.session.name ?? null,
      session: call?.session.id ?? null,
      attempts: call?.attempts ?? 0,
      method: input?.method ?? '',
      url: input === undefined ? '' : displayUrl(input.url),
      status,
      code,
      durationMs: Math.round((performance.now() - t0) * 100) / 100,
      requestBytes: input?.body?.byteLength ?? 0,
      responseBytes: size
    })
  }
  try {
    // base64 makes the JSON up to 4/3 of the body, plus the envelope.
    const raw = await readBody(req, Math.ceil(options.maxBufferedBytes * 4 / 3) + 64 * 1024)
    input = parseCall(raw)
  } catch (err) {
    const code = codeOf(err, 'BAD_REQUEST')
    sendError(res, code, err instanceof OutbridgeError ? err.message : 'malformed request')
    record(null, code)
    return
  }
  const chunks: Uint8Array[] = []
  let head: { status: number, headers: HeaderList } | undefined
  try {
    call = new RoutedCall(options.registry, {
      bridge: input.bridge,
      method: input.method,
      url: input.url,
      headers: input.headers,
      timeoutMs: input.timeoutMs,
      credential: input.credential,
      hasBody: input.body !== undefined,
      body: input.body
    }, {
      onHead (status, headers) { head = { status, headers } },
      onData (chunk, done) {
        size += chunk.byteLength
        if (size > options.maxBufferedBytes) {
          call?.fail('BODY_TOO_LARGE', `the response body exceeds ${options.maxBufferedBytes} bytes`, true)
          return
        }
        chunks.push(Buffer.from(chunk))
        done()
      },
      onEnd () {
        const body = Buffer.concat(chunks, size)
        sendJson(res, 200, { status: head?.status, headers: headerObject(head?.headers ?? []), ...encodeBody(body) }, { 'x-outbridge-bridge': call?.session.name ?? '' })
        record(head?.status ?? null, null)
      },
      onError (code, message) {
        sendError(res, code, message)
        record(head?.status ?? null, code)
      }
    })
  } catch (err) {
    const code = codeOf(err)
    sendError(res, code, (err as Error).message)
    record(null, code)
    return
  }
  res.on('close', function onCallerClose () {
    if (call === undefined || call.done) return
    call.cancel('CANCELLED', 'the caller went away')
    record(head?.status ?? null, 'CANCELLED')
  })
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
  return {
    bridge: v.bridge as string | undefined,
    method: method.toUpperCase(),
    url,
    headers: headerList(v.headers),
    body: bodyOf(v.body, v.bodyEncoding),
    timeoutMs,
    credential: v.credential as string | undefined
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
    for (const item of values) {
      if (typeof item !== 'string') throw new OutbridgeError('BAD_REQUEST', `header "${name.slice(0, 64)}" must be a string or an array of strings`)
      out.push(name.toLowerCase(), item)
    }
  }
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

const utf8 = new TextDecoder('utf-8', { fatal: true })

/** UTF-8 text when the bytes are valid UTF-8, else base64 with `bodyEncoding: "base64"`. */
function encodeBody (body: Buffer): { body: string, bodyEncoding?: 'base64' } {
  try {
    return { body: utf8.decode(body) }
  } catch {
    return { body: body.toString('base64'), bodyEncoding: 'base64' }
  }
}
