/**
 * The closed set of error codes that cross the wire (in RESET and GOAWAY frames) and the
 * mock cloud's HTTP API. Defined once here; every layer maps its own failures onto these.
 */
export const ERROR_CODES = [
  'FORBIDDEN_TARGET',
  'BRIDGE_UNAVAILABLE',
  'TARGET_UNREACHABLE',
  'TARGET_TIMEOUT',
  'BODY_TOO_LARGE',
  'BRIDGE_DISCONNECTED',
  'BAD_REQUEST',
  'PROTOCOL_ERROR',
  'UNSUPPORTED_VERSION',
  'TOO_MANY_STREAMS',
  'UNKNOWN_CREDENTIAL',
  'CANCELLED',
  'TARGET_ABORTED',
  'DRAINING',
  'SHUTDOWN',
  'INTERNAL_ERROR'
] as const

export type ErrorCode = (typeof ERROR_CODES)[number]

const CODE_SET: ReadonlySet<string> = new Set(ERROR_CODES)

/** True when `value` is one of {@link ERROR_CODES}. */
export function isErrorCode (value: unknown): value is ErrorCode {
  return typeof value === 'string' && CODE_SET.has(value)
}

/**
 * The HTTP status the cloud answers with for each code when the failure happens before the
 * response head was sent. Codes that only appear between peers map to 502.
 */
export const HTTP_STATUS: Readonly<Record<ErrorCode, number>> = Object.freeze({
  FORBIDDEN_TARGET: 403,
  BRIDGE_UNAVAILABLE: 503,
  TARGET_UNREACHABLE: 502,
  TARGET_TIMEOUT: 504,
  BODY_TOO_LARGE: 413,
  BRIDGE_DISCONNECTED: 502,
  BAD_REQUEST: 400,
  PROTOCOL_ERROR: 502,
  UNSUPPORTED_VERSION: 502,
  TOO_MANY_STREAMS: 503,
  UNKNOWN_CREDENTIAL: 400,
  CANCELLED: 499,
  TARGET_ABORTED: 502,
  DRAINING: 503,
  SHUTDOWN: 503,
  INTERNAL_ERROR: 500
})

/** An error that carries a wire code. Thrown inside a layer, turned into a frame at its edge. */
export class OutbridgeError extends Error {
  readonly code: ErrorCode
  constructor (code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'OutbridgeError'
    this.code = code
  }
}

/** The code carried by `err` when it is an {@link OutbridgeError}, else `fallback`. */
export function codeOf (err: unknown, fallback: ErrorCode = 'INTERNAL_ERROR'): ErrorCode {
  if (err instanceof OutbridgeError) return err.code
  const code = (err as { code?: unknown } | null)?.code
  return isErrorCode(code) ? code : fallback
}
