/**
 * The streaming pass-through: `/api/relay?url=ENCODED&bridge=NAME` and the path form
 * `/relay/BRIDGE/SCHEME/HOST:PORT/PATH?QUERY`. The request body streams to the bridge as it
 * arrives and the answer streams back as the target sends it, both ways at once, each paced by
 * its reader: request bytes are read only as the agent grants credit, and credit for response
 * bytes is returned only once the client's socket has taken them.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { OutbridgeError, codeOf } from '../protocol/errors.js'
import type { HeaderList } from '../protocol/frames.js'
import { isHttpUrl } from './call-api.js'
import { sendError } from './http-errors.js'
import type { BridgeRegistry } from './registry.js'
import type { TunnelCall } from './tunnel-call.js'

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

// Connection-level headers and the cloud's own controls never travel to the target.
const DROP = new Set(['host', 'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'expect'])

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

export function handleRelay (req: IncomingMessage, res: ServerResponse, options: RelayOptions): void {
  let target: RelayTarget
  let call: TunnelCall
  try {
    target = relayTarget(req)
    const declared = Number(req.headers['content-length'] ?? 0)
    if (declared > options.maxBodyBytes) throw new OutbridgeError('BODY_TOO_LARGE', `the request body exceeds ${options.maxBodyBytes} bytes`)
    const session = options.registry.pick(target.bridge)
    const credential = req.headers['x-outbridge-credential']
    call = session.open({
      method: req.method ?? 'GET',
      url: target.url,
      headers: forwardHeaders(req, options.apiToken),
      timeoutMs: target.timeoutMs,
      credential: typeof credential === 'string' ? credential : undefined,
      hasBody: hasBody(req)
    }, {
      onHead (status, headers) { res.writeHead(status, headers) },
      onData (chunk, done) { res.write(chunk, done) },
      onEnd () { res.end() },
      onError (code, message) {
        sendError(res, code, message)
        req.resume()
      }
    })
  } catch (err) {
    sendError(res, codeOf(err), (err as Error).message)
    req.resume()
    return
  }
  res.on('close', () => { if (!call.done) call.cancel('CANCELLED', 'the caller went away') })
  if (hasBody(req)) pumpRequestBody(req, res, call, options.maxBodyBytes)
}

function pumpRequestBody (req: IncomingMessage, res: ServerResponse, call: TunnelCall, limit: number): void {
  let size = 0
  const resume = (): void => { req.resume() }
  req.on('data', (chunk: Buffer) => {
    size += chunk.byteLength
    if (size > limit) {
      call.cancel('BODY_TOO_LARGE', `the request body exceeds ${limit} bytes`)
      sendError(res, 'BODY_TOO_LARGE', `the request body exceeds ${limit} bytes`)
      req.removeAllListeners('data')
      req.resume()
      return
    }
    if (!call.write(chunk, resume)) req.pause()
  })
  req.on('end', () => call.end())
}
