/**
 * The mock cloud: one HTTP(S) server carrying the agent endpoint (`/agent`, WebSocket) and the
 * HTTP API. An upgrade is authenticated before it is accepted: a bad or missing token gets HTTP
 * 401 and no WebSocket ever exists for it.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo, Socket } from 'node:net'
import { timingSafeEqual } from 'node:crypto'
import { WebSocketServer, type WebSocket } from 'ws'
import type { PeerLimits } from '../protocol/frames.js'
import { DEFAULT_LIMITS, limitsFor, PROTOCOL_VERSIONS, subprotocolOf, versionOfSubprotocol } from '../protocol/version.js'
import type { Logger } from '../agent/logger.js'
import { hasPageToken, isAdminPage, sendAdminPage, sendBridges, sendRecentCalls } from './admin-api.js'
import { TokenVerifier } from './auth.js'
import { BridgeSession } from './bridge-session.js'
import { handleCall } from './call-api.js'
import { JobDispatch } from './job-dispatch.js'
import { JobStore } from './job-store.js'
import { handleJobs, type JobsApi } from './jobs-api.js'
import { sendError } from './http-errors.js'
import { cloudMetrics, type CloudMetrics } from './metrics.js'
import { BridgeRegistry } from './registry.js'
import { handleRelay } from './relay-api.js'

export interface CloudOptions {
  readonly clients: ReadonlyArray<{ readonly id: string, readonly secret: string }>
  readonly tls?: { readonly cert: string, readonly key: string }
  readonly apiToken?: string
  readonly maxBodyBytes: number
  /** Largest WebSocket message accepted from a bridge, in bytes. @default DEFAULT_LIMITS.maxMessageBytes */
  readonly maxMessageBytes?: number
  readonly heartbeatInterval: number
  /** End sessions when their token expires. @default false */
  readonly reauth?: boolean
  readonly log: Logger
}

export interface Cloud {
  readonly server: Server
  readonly registry: BridgeRegistry
  readonly metrics: CloudMetrics
  listen (port: number, host: string): Promise<string>
  /** GOAWAY to every bridge, wait for their calls (at most `graceMs`), close. */
  close (graceMs: number): Promise<void>
}

export function createCloud (options: CloudOptions): Cloud {
  const { log } = options
  const registry = new BridgeRegistry()
  const metrics = cloudMetrics(registry)
  const jobs: JobsApi = { store: new JobStore() }
  const jobDispatch = new JobDispatch(jobs.store, registry, log)
  const verifier = new TokenVerifier({ clients: options.clients })
  const limits: PeerLimits = { ...limitsFor(options.maxMessageBytes ?? DEFAULT_LIMITS.maxMessageBytes), maxBodyBytes: options.maxBodyBytes }
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    maxPayload: limits.maxMessageBytes,
    handleProtocols: pickSubprotocol
  })
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    route(req, res, { registry, options, metrics, jobs })
  }
  const server: Server = options.tls === undefined
    ? createHttpServer(onRequest)
    : createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, onRequest) as unknown as Server
  server.keepAliveTimeout = 5_000
  // Node's default requestTimeout (300 s) would cut a long relay upload with 408; a streaming
  // relay paces itself, and slow headers are still bounded by headersTimeout (60 s).
  server.requestTimeout = 0
  server.on('connection', (socket: Socket) => socket.setNoDelay(true))
  jobDispatch.start()
  server.on('close', () => jobDispatch.stop())
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    onUpgrade(req, socket, head).catch((err: unknown) => {
      log.error({ err: (err as Error).message }, 'upgrade failed')
      socket.destroy()
    })
  })

  async function onUpgrade (req: IncomingMessage, socket: Socket, head: Buffer): Promise<void> {
    const path = (req.url ?? '').split('?')[0]
    if (path !== '/agent') return rejectUpgrade(socket, 404, 'Not Found')
    const scheme = options.tls === undefined ? 'ws' : 'wss'
    const result = await verifier.verify(req.headers.authorization, [`${scheme}://${req.headers.host ?? ''}/agent`])
    if (!result.ok) {
      log.warn({ code: 'rejected', reason: result.reason, remote: req.socket.remoteAddress }, `bridge rejected: ${result.message}`)
      metrics.rejected.inc({ reason: result.reason })
      return rejectUpgrade(socket, 401, 'Unauthorized')
    }
    wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      (ws as unknown as { _socket: Socket })._socket.setNoDelay(true)
      const session = new BridgeSession(ws, {
        clientId: result.clientId,
        limits,
        heartbeatMs: options.heartbeatInterval,
        helloTimeout: 10_000,
        defaultCallTimeout: 30_000,
        expiresAt: options.reauth === true ? result.expiresAt : undefined,
        log,
        jobs: (s, frame) => jobDispatch.onFrame(s, frame)
      }, {
        ready (s) {
          registry.add(s)
          log.info({ bridge: s.name, clientId: s.clientId, session: s.id, version: s.agentVersion }, 'bridge connected')
        },
        closed (s) {
          if (s.name !== '') log.info({ bridge: s.name, session: s.id }, 'bridge disconnected')
          registry.remove(s)
        },
        changed () {}
      })
      void session
    })
  }

  return {
    server,
    registry,
    metrics,
    listen: (port, host) => new Promise((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, host, () => {
        server.off('error', reject)
        const address = server.address() as AddressInfo
        const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address
        resolve(`${options.tls === undefined ? 'http' : 'https'}://${shown}:${address.port}`)
      })
    }),
    async close (graceMs) {
      server.close()
      await Promise.all(registry.sessions().map((s) => s.shutdown(graceMs)))
      server.closeAllConnections()
    }
  }
}

function pickSubprotocol (offered: Set<string>): string | false {
  for (const v of PROTOCOL_VERSIONS) if (offered.has(subprotocolOf(v))) return subprotocolOf(v)
  // No version in common: still accept, so HELLO/GOAWAY can say so clearly.
  for (const p of offered) if (versionOfSubprotocol(p) !== undefined) return p
  return false
}

function rejectUpgrade (socket: Socket, status: number, text: string): void {
  const body = JSON.stringify({ error: { code: status === 401 ? 'UNAUTHORIZED' : 'NOT_FOUND', message: text } })
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`)
}

interface RouteContext { readonly registry: BridgeRegistry, readonly options: CloudOptions, readonly metrics: CloudMetrics, readonly jobs: JobsApi }

function route (req: IncomingMessage, res: ServerResponse, ctx: RouteContext): void {
  const { options, registry } = ctx
  const path = (req.url ?? '/').split('?')[0]
  if (options.apiToken !== undefined && !hasToken(req, options.apiToken) && !hasPageToken(req, options.apiToken)) {
    res.setHeader('www-authenticate', 'Bearer')
    return sendError(res, 'UNAUTHORIZED', isAdminPage(path) ? 'open the admin page as /?token=<api token>' : 'this API needs Authorization: Bearer <api token>')
  }
  if (path === '/api/relay' || path.startsWith('/relay/')) {
    ctx.metrics.calls.inc({ api: 'relay' })
    return handleRelay(req, res, { registry, maxBodyBytes: options.maxBodyBytes, apiToken: options.apiToken })
  }
  if (path === '/api/call') {
    if (req.method !== 'POST') return sendError(res, 'METHOD_NOT_ALLOWED', 'use POST')
    ctx.metrics.calls.inc({ api: 'call' })
    handleCall(req, res, { registry, maxBufferedBytes: Math.min(options.maxBodyBytes, 64 * 1024 * 1024) }).catch(() => sendError(res, 'INTERNAL_ERROR', 'the call failed'))
    return
  }
  if (path === '/api/jobs' || path.startsWith('/api/jobs/')) return handleJobs(req, res, ctx.jobs)
  if (req.method !== 'GET' && req.method !== 'HEAD') return sendError(res, 'METHOD_NOT_ALLOWED', 'use GET')
  if (path === '/api/bridges') return sendBridges(res, registry)
  if (path === '/api/calls') return sendRecentCalls(req, res, registry.recentCalls)
  if (path === '/metrics') {
    ctx.metrics.registry.metrics().then((text) => {
      res.writeHead(200, { 'content-type': ctx.metrics.registry.contentType }).end(text)
    }, () => sendError(res, 'INTERNAL_ERROR', 'metrics failed'))
    return
  }
  if (isAdminPage(path)) return sendAdminPage(req, res)
  sendError(res, 'NOT_FOUND', `no route for ${path}`)
}

function hasToken (req: IncomingMessage, token: string): boolean {
  const given = Buffer.from(req.headers.authorization ?? '')
  const wanted = Buffer.from(`Bearer ${token}`)
  return given.length === wanted.length && timingSafeEqual(given, wanted)
}
