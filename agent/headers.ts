/**
 * Header hygiene between the cloud and a target. Headers travel as a flat array
 * `[name, value, name, value, ...]`; names leave here in lower case.
 *
 * Hop-by-hop headers describe one connection, not the message, so they are dropped in both
 * directions: `Connection` and every header it names, `Keep-Alive`, `TE`, `Trailer`,
 * `Transfer-Encoding`, `Upgrade`, `HTTP2-Settings` and every `Proxy-*`. Requests also lose the
 * caller's `Host` (re-derived from the checked target) and `Expect` (undici refuses it).
 * Error messages name a header, never its value: a value may be a secret.
 */
import { OutbridgeError } from '../protocol/errors.js'

/** Limits on the caller's request headers. */
export interface HeaderLimits {
  /** Most header fields (name/value pairs). @default 100 */
  readonly maxCount: number
  /** Most bytes of names plus values, all fields together. @default 65_536 */
  readonly maxBytes: number
}

/** The default {@link HeaderLimits}. */
export const DEFAULT_HEADER_LIMITS: HeaderLimits = Object.freeze({ maxCount: 100, maxBytes: 65_536 })

// RFC 9110 token characters.
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/
// RFC 9110 field-value: visible ASCII, space, HTAB and obs-text (0x80-0xFF); nothing above 0xFF,
// which could not be sent as one byte.
const BAD_VALUE_CHAR = /[^\t\x20-\x7e\x80-\xff]/
const DECIMAL = /^[0-9]+$/
const MAX_NAME_IN_MESSAGE = 64
const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection', 'keep-alive', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'http2-settings'
])
const REQUEST_ONLY_DROPPED: ReadonlySet<string> = new Set(['host', 'expect'])

type Pair = readonly [name: string, value: string]

/** True when `s` is a valid RFC 9110 field name (a non-empty token). */
export function isValidHeaderName (s: string): boolean {
  return TOKEN.test(s)
}

/** True when `s` is a valid field value: no CR, LF, NUL or other control byte but HTAB. */
export function isValidHeaderValue (s: string): boolean {
  return !BAD_VALUE_CHAR.test(s)
}

function badRequest (message: string): OutbridgeError {
  return new OutbridgeError('BAD_REQUEST', message)
}

function isHopByHop (name: string): boolean {
  return HOP_BY_HOP.has(name) || name.startsWith('proxy-')
}

/** Splits a flat array into validated pairs with lower-case names. */
function validPairs (flat: readonly string[]): Pair[] {
  if (flat.length % 2 !== 0) throw badRequest('headers must come as name/value pairs')
  const pairs: Pair[] = []
  for (let i = 0; i < flat.length; i += 2) {
    const name = flat[i]
    const value = flat[i + 1]
    if (typeof name !== 'string' || !isValidHeaderName(name)) {
      throw badRequest(`invalid header name ${JSON.stringify(String(name).slice(0, MAX_NAME_IN_MESSAGE))}`)
    }
    if (typeof value !== 'string' || !isValidHeaderValue(value)) throw badRequest(`invalid value for header ${name}`)
    pairs.push([name.toLowerCase(), value])
  }
  return pairs
}

/** The names listed in every `Connection` header of `pairs`, lower case. */
function connectionNames (pairs: readonly Pair[]): Set<string> {
  const names = new Set<string>()
  for (const [name, value] of pairs) {
    if (name !== 'connection') continue
    for (const token of value.split(',')) names.add(token.trim().toLowerCase())
  }
  return names
}

// Valid names and values hold no character above 0xFF, so their length is their size in bytes.
function checkSize (pairs: readonly Pair[], maxBytes: number): void {
  let bytes = 0
  for (const [name, value] of pairs) bytes += name.length + value.length
  if (bytes > maxBytes) throw badRequest(`headers larger than ${maxBytes} bytes`)
}

/** Content-Length must be one decimal number; repeats must agree and collapse into one. */
function singleContentLength (pairs: readonly Pair[]): Pair[] {
  let length: string | undefined
  const out: Pair[] = []
  for (const pair of pairs) {
    if (pair[0] !== 'content-length') {
      out.push(pair)
      continue
    }
    if (!DECIMAL.test(pair[1])) throw badRequest('invalid value for header content-length')
    if (length !== undefined && length !== pair[1]) throw badRequest('conflicting content-length headers')
    if (length === undefined) out.push(pair)
    length = pair[1]
  }
  return out
}

/**
 * The headers to send to the target: the caller's headers, validated, names in lower case,
 * hop-by-hop headers, `Host` and `Expect` dropped, `host: target.hostHeader` first, then `extra`
 * pairs (e.g. a credential's Authorization header) replacing any caller header of the same name.
 * Throws `OutbridgeError('BAD_REQUEST')` for an odd-length array, an invalid name or value,
 * a bad or conflicting Content-Length, too many or too large headers, or an `extra` header that
 * the target would never see as sent (hop-by-hop, Host, Expect).
 */
export function requestHeadersForTarget (
  flat: readonly string[],
  target: { hostHeader: string },
  extra: readonly string[] = [],
  limits: HeaderLimits = DEFAULT_HEADER_LIMITS
): string[] {
  if (flat.length > 2 * limits.maxCount) throw badRequest(`more than ${limits.maxCount} headers`)
  const pairs = validPairs(flat)
  checkSize(pairs, limits.maxBytes)
  const extras = validPairs(extra)
  for (const [name] of extras) {
    if (isHopByHop(name) || REQUEST_ONLY_DROPPED.has(name)) throw badRequest(`header ${name} cannot be added`)
  }
  const dropped = connectionNames(pairs)
  for (const [name] of extras) dropped.add(name)
  const kept = pairs.filter(([name]) => !dropped.has(name) && !isHopByHop(name) && !REQUEST_ONLY_DROPPED.has(name))
  const out = ['host', target.hostHeader]
  for (const [name, value] of [...singleContentLength(kept), ...extras]) out.push(name, value)
  return out
}

/**
 * The target's response headers as the cloud gets them: names in lower case, hop-by-hop headers
 * dropped (the cloud frames the body itself), everything else, repeats included (`set-cookie`),
 * in order. Throws `OutbridgeError('INTERNAL_ERROR')` for an odd-length array, which only a bug
 * on the bridge can produce.
 */
export function responseHeadersForCloud (flat: readonly string[]): string[] {
  if (flat.length % 2 !== 0) throw new OutbridgeError('INTERNAL_ERROR', 'response headers must come as name/value pairs')
  const pairs: Pair[] = []
  for (let i = 0; i < flat.length; i += 2) pairs.push([flat[i].toLowerCase(), flat[i + 1]])
  const dropped = connectionNames(pairs)
  const out: string[] = []
  for (const [name, value] of pairs) {
    if (!dropped.has(name) && !isHopByHop(name)) out.push(name, value)
  }
  return out
}
