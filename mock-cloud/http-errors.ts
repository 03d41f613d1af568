/**
 * How the mock cloud's HTTP API reports a failure: JSON `{"error":{"code","message"}}` with
 * header `x-outbridge-error: CODE` (CONTRACT "Errors"). Tunnel codes come from protocol/errors;
 * the few codes of the API itself are listed here.
 */
import type { ServerResponse } from 'node:http'
import { HTTP_STATUS, type ErrorCode } from '../protocol/errors.js'

/** Codes of the HTTP API itself (not of the tunnel). */
export type ApiOnlyCode = 'UNAUTHORIZED' | 'NOT_FOUND' | 'METHOD_NOT_ALLOWED'
export type ApiErrorCode = ErrorCode | ApiOnlyCode

const API_STATUS: Readonly<Record<ApiOnlyCode, number>> = { UNAUTHORIZED: 401, NOT_FOUND: 404, METHOD_NOT_ALLOWED: 405 }

export function statusOf (code: ApiErrorCode): number {
  return code in API_STATUS ? API_STATUS[code as ApiOnlyCode] : HTTP_STATUS[code as ErrorCode]
}

/**
 * Answers with the error when the head has not been sent; otherwise aborts the response so the
 * client sees a truncated body, never a short one that looks complete.
 */
export function sendError (res: ServerResponse, code: ApiErrorCode, message: string): void {
  if (res.headersSent) {
    // Node holds a response's first writes in a corked socket until the next tick: hand them
    // to the kernel first, or a head written in this same turn never reaches the client.
    const socket = res.socket
    while (socket !== null && socket.writableCorked > 0) socket.uncork()
    res.destroy()
    return
  }
  const body = JSON.stringify({ error: { code, message } })
  res.writeHead(statusOf(code), {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'x-outbridge-error': code,
    'cache-control': 'no-store'
  })
  res.end(body)
}

/** Sends a JSON value with `status`. */
export function sendJson (res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  const body = JSON.stringify(value)
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store', ...headers })
  res.end(body)
}
