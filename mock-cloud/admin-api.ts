/**
 * The admin endpoints of the mock cloud: `GET /` (the page), `GET /api/bridges` and
 * `GET /api/calls`, and the one exception to bearer-only auth: `GET /` also takes the API
 * token as `?token=`, because a browser cannot put a header on its own navigation (the page's
 * script then sends the header itself).
 */
import { timingSafeEqual } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { ADMIN_PAGE_HEADERS, ADMIN_PAGE_HTML } from './admin-page/page.js'
import { sendError, sendJson } from './http-errors.js'
import type { RecentCalls } from './recent-calls.js'
import type { BridgeRegistry } from './registry.js'

/** True for the paths that serve the admin page. */
export function isAdminPage (path: string): boolean {
  return path === '/' || path === '/index.html'
}

/** True when `req` is a GET/HEAD of the admin page carrying `?token=` equal to `token` (compared in constant time). */
export function hasPageToken (req: IncomingMessage, token: string): boolean {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false
  const raw = req.url ?? '/'
  const q = raw.indexOf('?')
  if (q === -1 || !isAdminPage(raw.slice(0, q))) return false
  const given = Buffer.from(new URLSearchParams(raw.slice(q + 1)).get('token') ?? '')
  const wanted = Buffer.from(token)
  return given.length === wanted.length && timingSafeEqual(given, wanted)
}

/** `GET /`: the admin page. */
export function sendAdminPage (req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(200, ADMIN_PAGE_HEADERS)
  res.end(req.method === 'HEAD' ? undefined : ADMIN_PAGE_HTML)
}

/** `GET /api/bridges`: one object per connected bridge (CONTRACT's fields plus `state`, `rttMs`, `session`). */
export function sendBridges (res: ServerResponse, registry: BridgeRegistry): void {
  sendJson(res, 200, registry.list())
}

/** `GET /api/calls[?limit=N]`: the recent calls, newest first. */
export function sendRecentCalls (req: IncomingMessage, res: ServerResponse, recent: RecentCalls): void {
  const raw = req.url ?? ''
  const q = raw.indexOf('?')
  const limit = q === -1 ? null : new URLSearchParams(raw.slice(q + 1)).get('limit')
  if (limit !== null && !/^[1-9]\d{0,5}$/.test(limit)) return sendError(res, 'BAD_REQUEST', '"limit" must be a positive integer')
  sendJson(res, 200, recent.list(limit === null ? undefined : Number(limit)))
}
