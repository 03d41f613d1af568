/**
 * The `--allow` target rules: parsing (with the same host normalisation as target URLs) and the
 * two questions the policy asks each rule, before and after DNS resolution. Pure, no I/O.
 *
 * | rule                          | matches                                                        |
 * | ----------------------------- | -------------------------------------------------------------- |
 * | rule                       | host it covers                  | resolved addresses it allows    |
 * | -------------------------- | ------------------------------- | ------------------------------- |
 * | `*`                        | any, but `localhost`/`*.localhost` | open ones                    |
 * | `host`                     | that DNS name exactly           | open and loopback ones          |
 * | `*.suffix`                 | `a.suffix`, `a.b.suffix`; not `suffix` itself | open ones; loopback too for `*.localhost` |
 * | `10.0.0.5`, `::1`, `[::1]` | any (the address decides)       | that address                    |
 * | `10.0.0.0/8`, `fd00::/8`   | any (the address decides)       | those in the network, blocked ones included |
 *
 * Every rule but a CIDR may end in `:PORT` (`[v6]:PORT` for IPv6; `fd00::1:8080` is an address)
 * to cover only that port. Blocked addresses (link-local, metadata, multicast... see
 * `ip-address.ts`) are only reachable through an IP/CIDR rule containing them. A cloud-metadata
 * name (and any name under it) is only reachable through an exact name rule for it, and its
 * address still needs an IP rule: `--allow metadata.google.internal --allow 169.254.169.254`.
 * IP literals in URLs are never matched by name rules, and host names by IP rules only through
 * their resolved addresses.
 */
import { IpNetwork, parseIp } from './ip-address.js'
import type { AddressClass, IpAddress } from './ip-address.js'
import { parseHost } from './target-url.js'
import type { Host } from './target-url.js'

/** A parsed rule. `port` undefined means any port. */
export type TargetRule =
  | { readonly kind: 'any', readonly text: string, readonly port?: number }
  | { readonly kind: 'name', readonly text: string, readonly name: string, readonly port?: number }
  | { readonly kind: 'suffix', readonly text: string, readonly suffix: string, readonly port?: number }
  | { readonly kind: 'ip', readonly text: string, readonly network: IpNetwork, readonly port?: number }

/** A rule that cannot be parsed. Not a wire error: the CLI exits 2 with the message. */
export class RuleError extends Error {
  readonly code = 'INVALID_RULE' as const
  /** The rule as given. */
  readonly rule: string
  constructor (rule: string, reason: string) {
    super(`invalid target rule ${JSON.stringify(rule)}: ${reason}`)
    this.name = 'RuleError'
    this.rule = rule
  }
}

/** Well-known cloud instance-metadata host names; names under them are refused too. */
export const METADATA_NAMES: readonly string[] = Object.freeze([
  'metadata',
  'metadata.google.internal',
  'metadata.goog',
  'metadata.azure.internal',
  'instance-data',
  'instance-data.ec2.internal'
])

const PORT = /^[0-9]{1,5}$/
const PREFIX = /^[0-9]{1,3}$/
const MAPPED_PREFIX_BITS = 96

/** True for a listed metadata name or any name under one. */
export function isMetadataName (name: string): boolean {
  return METADATA_NAMES.some((m) => name === m || name.endsWith(`.${m}`))
}

/** True for `localhost` and names under it (RFC 6761). */
export function isLoopbackName (name: string): boolean {
  return name === 'localhost' || name.endsWith('.localhost')
}

/** Parses one rule; throws {@link RuleError} naming it. Surrounding whitespace is ignored. */
export function parseRule (text: string): TargetRule {
  const reason = (message: string): RuleError => new RuleError(text, message)
  const trimmed = text.trim()
  if (trimmed === '') throw reason('empty rule')
  if (trimmed.includes('/')) return parseCidr(text, trimmed, reason)
  const { hostText, port } = splitPort(trimmed, reason)
  if (hostText === '*') return { kind: 'any', text, port }
  if (hostText.startsWith('*.')) {
    const suffix = parseHost(hostText.slice(2))
    if (suffix?.kind !== 'name') throw reason('after "*." must come a DNS name')
    return { kind: 'suffix', text, suffix: suffix.name, port }
  }
  const host = parseHost(hostText)
  if (host === undefined) {
    throw reason('expected host, host:port, *.suffix, an IP address, a CIDR or *')
  }
  if (host.kind === 'name') return { kind: 'name', text, name: host.name, port }
  return { kind: 'ip', text, network: new IpNetwork(host.ip, host.ip.family === 4 ? 32 : 128), port }
}

function splitPort (
  rule: string,
  reason: (message: string) => RuleError
): { hostText: string, port?: number } {
  let hostText = rule
  let portText: string | undefined
  if (rule.startsWith('[')) {
    const close = rule.indexOf(']')
    if (close === -1) throw reason('missing "]"')
    hostText = rule.slice(0, close + 1)
    const rest = rule.slice(close + 1)
    if (rest !== '' && !rest.startsWith(':')) throw reason('expected ":PORT" after "]"')
    if (rest !== '') portText = rest.slice(1)
  } else if (rule.split(':').length === 2) {
    [hostText, portText] = rule.split(':')
  } else if (rule.includes(':')) {
    // More than one colon is a bare IPv6 address; a port needs the [v6]:PORT form.
    hostText = `[${rule}]`
  }
  if (portText === undefined) return { hostText }
  const port = Number(portText)
  if (!PORT.test(portText) || port < 1 || port > 65_535) throw reason('the port must be 1-65535')
  return { hostText, port }
}

function parseCidr (text: string, cidr: string, reason: (message: string) => RuleError): TargetRule {
  const slash = cidr.lastIndexOf('/')
  const prefixText = cidr.slice(slash + 1)
  const base = cidr.slice(0, slash).replace(/^\[(.*)\]$/, '$1')
  const ip = parseIp(base)
  if (ip === undefined) throw reason('a CIDR needs a full IP address before "/" (e.g. 10.0.0.0/8)')
  const mapped = ip.family === 4 && base.includes(':')
  const maxBits = ip.family === 4 && !mapped ? 32 : 128
  let prefix = Number(prefixText)
  if (!PREFIX.test(prefixText) || prefix > maxBits) throw reason(`the prefix must be 0-${maxBits}`)
  if (mapped) {
    if (prefix < MAPPED_PREFIX_BITS) throw reason('an IPv4-mapped network needs a prefix of 96 or more')
    prefix -= MAPPED_PREFIX_BITS
  }
  return { kind: 'ip', text, network: new IpNetwork(ip, prefix) }
}

/** The message of the error `text` would raise as a rule, or `undefined` when it is valid. */
export function validateRule (text: string): string | undefined {
  try {
    parseRule(text)
    return undefined
  } catch (err) {
    if (err instanceof RuleError) return err.message
    throw err
  }
}

/**
 * Before DNS: whether `rule` may allow this host and port at all. A name no rule covers is refused
 * without a lookup, so a refused name is never sent to a resolver.
 */
export function ruleCoversHost (rule: TargetRule, host: Host, port: number): boolean {
  if (rule.port !== undefined && rule.port !== port) return false
  switch (rule.kind) {
    case 'ip': return true
    case 'any': return host.kind === 'ip' || !isLoopbackName(host.name)
    case 'name': return host.kind === 'name' && host.name === rule.name
    case 'suffix': return host.kind === 'name' && host.name.endsWith(`.${rule.suffix}`)
  }
}

/**
 * Whether a metadata name (see {@link isMetadataName}) may be reached at all: only when an exact
 * name rule covers it. True for every other host.
 */
export function metadataNameAllowed (rules: readonly TargetRule[], host: Host, port: number): boolean {
  if (host.kind === 'ip' || !isMetadataName(host.name)) return true
  return rules.some((rule) => rule.kind === 'name' && ruleCoversHost(rule, host, port))
}

/**
 * After DNS: whether a rule that covers the host allows one of its resolved, normalised
 * addresses of class `addressClass`.
 */
export function ruleAllowsAddress (
  rule: TargetRule,
  host: Host,
  ip: IpAddress,
  addressClass: AddressClass
): boolean {
  switch (rule.kind) {
    case 'ip': return rule.network.contains(ip)
    case 'any': return addressClass === 'open'
    case 'name': return addressClass !== 'blocked'
    case 'suffix':
      return addressClass === 'open' ||
        (addressClass === 'loopback' && host.kind === 'name' && isLoopbackName(host.name))
  }
}
