/**
 * The streaming pass-through: `/api/relay?url=ENCODED&bridge=NAME` and the path form
 * `/relay/BRIDGE/SCHEME/HOST:PORT/PATH?QUERY`. The request body streams to the bridge as it
 * arrives and the answer streams back as the target sends it, both ways at once, each paced by
 * its reader: request bytes are read only as the agent grants credit (a caller whose upload
 * waits long for credit gets interim `102 Processing` answers, so its hang-up is noticed:
 * paused-upload), and credit for response bytes is returned only once the client's socket has
 * taken them. A call refused by a draining bridge before any body byte went out moves to another
 * bridge (route-call); each call ends up in the recent calls.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { OutbridgeError, codeOf } from '../protocol/errors.js'
import type { HeaderList } from '../protocol/frames.js'
import { isHttpUrl } from './call-api.js'
import { sendError } from './http-errors.js'
import { PausedUpload } from './paused-upload.js'
import { CallTrace } from './recent-calls.js'
import type { BridgeRegistry } from './registry.js'
import { RoutedCall, cancelWhenCallerLeaves } from './route-call.js'
import type { CallHandler } from './tunnel-call.js'

export interface RelayOptions {
  readonly registry: BridgeRegistry
  readonly maxBodyBytes: number
  /** The API token, so a relayed request never carries it on to the target. */
  readonly apiToken?: string
}

export interface RelayTarget {
  readonly url: string
  readonly bridge?: string
  readonly timeoutMs: number
}

// The cloud's own controls never travel to the target. `connection` does travel: the agent drops
// it together with every header it names (agent/headers.ts), which the cloud cannot do for it
// once `connection` itself is gone.
const DROP = new Set(['host', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'expect'])

/** Parses either relay form; throws BAD_REQUEST. */
export function relayTarget (req: IncomingMessage): RelayTarget {
  const raw = req.url ?? '/'
  const q = raw.indexOf('?')
  const path = q === -1 ? raw : raw.slice(0, q)
  const search = q === -1 ? '' : raw.slice(q)
  const headerTimeout = Number(req.headers['x-outbridge-timeout-ms'] ?? 0)
  if (path === '/api/relay') {
    const params = new URLSearchParams(search)
    const url = params.get('url') ?? ''
    if (!isHttpUrl(url)) throw new OutbridgeError('BAD_REQUEST', '"url" must be an absolute, URL-encoded http(s) URL')
    return { url, bridge: params.get('bridge') ?? undefined, timeoutMs: timeoutOf(params.get('timeoutMs') ?? headerTimeout) }
  }
  const match = /^\/relay\/([^/]+)\/(https?)\/([^/]+)(\/.*)?$/.exec(path)
  if (match === null) throw new OutbridgeError('BAD_REQUEST', 'relay paths look like /relay/BRIDGE/SCHEME/HOST:PORT/PATH')
  const [, bridge, scheme, host, rest] = match
  const url = `${scheme}://${host}${rest ?? '/'}${search}`
  if (!isHttpUrl(url)) throw new OutbridgeError('BAD_REQUEST', `not a valid target: ${scheme}://${host}`)
  return { url, bridge: decodeURIComponent(bridge), timeoutMs: timeoutOf(headerTimeout) }
}

function timeoutOf (value: string | number): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 0 || n > 3_600_000) throw new OutbridgeError('BAD_REQUEST', 'the timeout must be an integer number of ms up to 3600000')
  return n
}

/** Request headers to send on: lower-case, minus hop-by-hop, the cloud's controls and its API token. */
function forwardHeaders (req: IncomingMessage, apiToken: string | undefined): HeaderList {
  const raw = req.rawHeaders
  const out: HeaderList = []
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toLowerCase()
    if (DROP.has(name) || name.startsWith('x-outbridge-')) continue
    if (name === 'authorization' && apiToken !== undefined && raw[i + 1] === `Bearer ${apiToken}`) continue
    out.push(name, raw[i + 1])
  }
  return out
}

function hasBody (req: IncomingMessage): boolean {
  const length = req.headers['content-length']
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0')
}

/** Relays one request through a bridge and records it in the registry's recent calls. */
export function handleRelay (req: IncomingMessage, res: ServerResponse, options: RelayOptions): void {
  const trace = new CallTrace(options.registry.recentCalls, 'relay')
  trace.method = req.method ?? 'GET'
  let call: RoutedCall
  try {
    const target = relayTarget(req)
    trace.url = target.url
    const declared = Number(req.headers['content-length'] ?? 0)
    if (declared > options.maxBodyBytes) throw new OutbridgeError('BODY_TOO_LARGE', `the request body exceeds ${options.maxBodyBytes} bytes`)
    const credential = req.headers['x-outbridge-credential']
    call = new RoutedCall(options.registry, {
      bridge: target.bridge,
      method: trace.method,
      url: target.url,
      headers: forwardHeaders(req, options.apiToken),
      timeoutMs: target.timeoutMs,
      credential: typeof credential === 'string' ? credential : undefined,
      followRedirects: req.headers['x-outbridge-follow-redirects'] === '1' || req.headers['x-outbridge-follow-redirects'] === 'true',
      hasBody: hasBody(req)
    }, streamAnswer(req, res, trace))
  } catch (err) {
    const code = codeOf(err)
    sendError(res, code, (err as Error).message)
    req.resume()
    trace.finish(null, code)
    return
  }
  cancelWhenCallerLeaves(res, call, trace)
  if (hasBody(req)) pumpRequestBody(req, res, call, trace, options.maxBodyBytes)
}

/** A handler that streams the answer to `res` as it comes, crediting the bridge as `res` takes it. */
function streamAnswer (req: IncomingMessage, res: ServerResponse, trace: CallTrace): CallHandler {
  return {
    onHead (status, headers) {
      trace.status = status
      res.writeHead(status, headers)
    },
    onData (chunk, done) {
      trace.responseBytes += chunk.byteLength
      res.write(chunk, done)
    },
    onEnd () {
      res.end()
      trace.finish(trace.status, null)
    },
    onError (code, message) {
      sendError(res, code, message)
      req.resume()
      trace.finish(trace.status, code)
    }
  }
}

/** Streams the request body to the call as credit allows; a long pause probes the caller (paused-upload). */
function pumpRequestBody (req: IncomingMessage, res: ServerResponse, call: RoutedCall, trace: CallTrace, limit: number): void {
  const upload = new PausedUpload(req, res)
  const resume = (): void => { upload.resume() }
  req.on('data', (chunk: Buffer) => {
    trace.requestBytes += chunk.byteLength
    if (trace.requestBytes > limit) {
      const message = `the request body exceeds ${limit} bytes`
      call.cancel('BODY_TOO_LARGE', message)
      sendError(res, 'BODY_TOO_LARGE', message)
      trace.finish(trace.status, 'BODY_TOO_LARGE')
      req.removeAllListeners('data')
      upload.stop()
      req.resume()
      return
    }
    if (!call.write(chunk, resume)) upload.pause()
  })
  req.on('end', () => {
    upload.stop()
    call.end()
  })
}
