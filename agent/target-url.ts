/**
 * Parsing of target URLs and host names into the normalised form the policy checks. Pure, no I/O.
 *
 * The WHATWG URL parser normalises most alternative spellings (decimal, octal, hex and short IPv4,
 * upper case, percent-encoded hosts, IDN to punycode); this module refuses, before parsing, what
 * that parser would silently repair (backslashes, tabs, missing slashes, empty userinfo), so what
 * is checked is exactly what the caller wrote.
 */
import { OutbridgeError } from '../protocol/errors.js'
import { parseIp } from './ip-address.js'
import type { IpAddress } from './ip-address.js'

/** A normalised host: an IP address, or a DNS name (lower case, no trailing dot). */
export type Host =
  | { readonly kind: 'ip', readonly ip: IpAddress }
  | { readonly kind: 'name', readonly name: string }

/** A target URL that is well formed; not yet checked against any rule. */
export interface TargetUrl {
  /** The parsed URL, fragment dropped, trailing dot of a host name removed. */
  readonly url: URL
  readonly scheme: 'http:' | 'https:'
  readonly host: Host
  /** The host name, or the normalised IP text without brackets. */
  readonly hostname: string
  /** The explicit port, or the scheme's default. */
  readonly port: number
  /** `host[:port]` as written in the URL (brackets for IPv6, no default port). */
  readonly hostHeader: string
  /** Path and query. */
  readonly path: string
}

const DEFAULT_PORTS: Readonly<Record<'http:' | 'https:', number>> = { 'http:': 80, 'https:': 443 }
// Spaces, control characters and backslashes anywhere: the URL parser would strip or rewrite them.
const UNSAFE_URL_CHARS = /[\x00-\x20\x7f\\]/
const ABSOLUTE_HTTP = /^https?:\/\//i
// Characters that end or escape a host, or that no DNS name holds; checked before the URL parser
// sees a host given on its own (a rule), so `a/b` cannot pass as the host `a`.
const NON_HOST_CHARS = /[\x00-\x20\x7f/?#@\\[\]:%*|<>^"'`{}]/
const LABEL = /^[a-z0-9_-]{1,63}$/
const MAX_NAME_LENGTH = 253

/**
 * Parses host text as the host part of an http URL would be parsed: `[v6]`, any IPv4 spelling
 * the WHATWG parser accepts, or a DNS name (IDN allowed). `undefined` when it is none of these.
 */
export function parseHost (text: string): Host | undefined {
  if (text.startsWith('[') && text.endsWith(']')) {
    const inner = text.slice(1, -1)
    const ip = inner.includes(':') ? parseIp(inner) : undefined
    return ip === undefined ? undefined : { kind: 'ip', ip }
  }
  if (text === '' || NON_HOST_CHARS.test(text)) return undefined
  let parsed: string
  try {
    parsed = new URL(`http://${text}/`).hostname
  } catch {
    return undefined
  }
  const ip = parseIp(parsed)
  if (ip !== undefined) return { kind: 'ip', ip }
  return parseName(parsed)
}

function parseName (parsed: string): Host | undefined {
  const name = parsed.endsWith('.') ? parsed.slice(0, -1) : parsed
  if (name.length > MAX_NAME_LENGTH) return undefined
  if (!name.split('.').every((label) => LABEL.test(label))) return undefined
  return { kind: 'name', name }
}

function badUrl (message: string): OutbridgeError {
  return new OutbridgeError('BAD_REQUEST', message)
}

/**
 * Parses and normalises a target URL. Throws `OutbridgeError('BAD_REQUEST')` for anything but an
 * absolute http(s) URL with a host, for userinfo, spaces, control characters or backslashes
 * anywhere, and for port 0. Messages never repeat the URL (its query may hold a secret).
 */
export function parseTargetUrl (raw: string): TargetUrl {
  if (typeof raw !== 'string') throw badUrl('the URL must be a string')
  if (UNSAFE_URL_CHARS.test(raw)) throw badUrl('the URL holds a space, control character or backslash')
  if (!ABSOLUTE_HTTP.test(raw)) throw badUrl('only absolute http:// and https:// URLs are allowed')
  const authority = raw.slice(raw.indexOf('//') + 2).split(/[/?#]/, 1)[0]
  if (authority === '') throw badUrl('the URL has no host')
  if (authority.includes('@')) throw badUrl('the URL must not hold user information')
  let url: URL
  try {
    url = new URL(raw)
  } catch (err) {
    throw new OutbridgeError('BAD_REQUEST', 'the URL is not valid', { cause: err })
  }
  const host = parseHost(url.hostname)
  if (host === undefined) throw badUrl('the URL host is not a valid host name or IP address')
  if (host.kind === 'name') url.hostname = host.name
  url.hash = ''
  const scheme = url.protocol === 'https:' ? 'https:' : 'http:'
  const port = url.port === '' ? DEFAULT_PORTS[scheme] : Number(url.port)
  if (port === 0) throw badUrl('the URL port must be 1-65535')
  return {
    url,
    scheme,
    host,
    hostname: host.kind === 'name' ? host.name : host.ip.address,
    port,
    hostHeader: url.host,
    path: url.pathname + url.search
  }
}
