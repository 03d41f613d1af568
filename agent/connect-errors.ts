/**
 * Why a connection attempt to the cloud failed, in the terms an operator acts on. Used for the
 * log line, /healthz, and the exit codes of `test-connection` (3 rejected, 4 unreachable).
 */

export type ConnectFailureKind = 'rejected' | 'unreachable' | 'tls' | 'proxy' | 'timeout' | 'protocol'

export interface ConnectFailure {
  readonly kind: ConnectFailureKind
  /** One line for a human; never contains a secret or token. */
  readonly message: string
  /** The underlying code (ECONNREFUSED, DEPTH_ZERO_SELF_SIGNED_CERT, HTTP status...), when known. */
  readonly detail?: string
}

const TLS_CODE = /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|ERR_OSSL_)/

/** Classifies a ws / RWS error event. */
export function classifyConnectError (error: unknown, message: string): ConnectFailure {
  const err = error instanceof Error ? error : undefined
  const code = (err as NodeJS.ErrnoException | undefined)?.code
  const text = err?.message ?? message
  const status = /Unexpected server response: (\d{3})/.exec(text)?.[1]
  if (status === '401' || status === '403') {
    return { kind: 'rejected', message: `the cloud rejected the bridge's credentials (HTTP ${status})`, detail: status }
  }
  if (status === '407') return { kind: 'proxy', message: 'the proxy refused the credentials (HTTP 407)', detail: status }
  if (status !== undefined) return { kind: 'protocol', message: `the cloud answered the upgrade with HTTP ${status}`, detail: status }
  if (text === 'TIMEOUT' || /timed out|timeout/i.test(text)) {
    return { kind: 'timeout', message: 'the WebSocket handshake with the cloud timed out', detail: code }
  }
  if (code !== undefined && TLS_CODE.test(code)) {
    return { kind: 'tls', message: `TLS verification of the cloud failed: ${code} (use --ca-file for a private CA)`, detail: code }
  }
  if (/proxy/i.test(text) || /^Bad response: \d+/.test(text)) {
    return { kind: 'proxy', message: `the proxy failed: ${text}`, detail: code }
  }
  return { kind: 'unreachable', message: `cannot reach the cloud: ${code ?? text}`, detail: code }
}
