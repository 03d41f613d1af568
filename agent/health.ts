/**
 * The agent's local status endpoint (`--health-port`, bound to 127.0.0.1 only): `/healthz` is
 * 200 while the tunnel is up and authenticated, 503 with the state and reason otherwise;
 * `/metrics` is Prometheus text.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Registry } from 'prom-client'
import type { BridgeStatus } from './bridge.js'

export interface HealthServer {
  readonly port: number
  close (): Promise<void>
}

export async function startHealthServer (port: number, status: () => BridgeStatus, registry: Registry): Promise<HealthServer> {
  const server: Server = createServer((req, res) => { handle(req, res, status, registry) })
  server.keepAliveTimeout = 5_000
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => { server.off('error', reject); resolve() })
  })
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()) })
  }
}

function handle (req: IncomingMessage, res: ServerResponse, status: () => BridgeStatus, registry: Registry): void {
  const path = (req.url ?? '/').split('?')[0]
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD' }).end()
    return
  }
  if (path === '/healthz' || path === '/readyz' || path === '/ready') {
    const s = status()
    const body = JSON.stringify({
      state: s.state,
      reason: s.reason ?? null,
      since: new Date(s.since).toISOString(),
      session: s.session ?? null,
      rttMs: s.rttMs === undefined ? null : Math.round(s.rttMs * 100) / 100,
      inFlight: s.inFlight,
      reconnects: s.reconnects
    })
    res.writeHead(s.state === 'connected' ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(body)
    return
  }
  if (path === '/metrics') {
    registry.metrics().then((text) => {
      res.writeHead(200, { 'content-type': registry.contentType }).end(text)
    }, () => { res.writeHead(500).end() })
    return
  }
  res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n')
}
