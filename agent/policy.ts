/**
 * The target policy: the SSRF defence of the bridge. A bridge inside a private network is a door
 * into it, so only what the admin allowed with `--allow` rules may be reached (deny by default).
 *
 * `check()` validates the URL, resolves the name exactly once, checks every resolved address
 * against the rules (see `target-rule.ts` for the rule kinds, `ip-address.ts` for the blocked and
 * loopback sets) and returns the address to connect to. The caller connects to that address and
 * never resolves again, so a resolver that answers differently later (DNS rebinding) changes
 * nothing. `check()` itself never connects.
 */
import { lookup as dnsLookup } from 'node:dns/promises'
import { OutbridgeError } from '../protocol/errors.js'
import { classifyAddress, parseIp } from './ip-address.js'
import type { IpAddress } from './ip-address.js'
import { metadataNameAllowed, parseRule, ruleAllowsAddress, ruleCoversHost } from './target-rule.js'
import type { TargetRule } from './target-rule.js'
import { parseTargetUrl } from './target-url.js'
import type { Host, TargetUrl } from './target-url.js'

export { RuleError, validateRule } from './target-rule.js'

/** Resolves a host name to all its addresses, like `dns.promises.lookup(host, { all: true })`. */
export type LookupFn = (hostname: string) => Promise<ReadonlyArray<{ address: string, family: 4 | 6 }>>

/** A target that passed every check: connect to `address`, never re-resolve. */
export interface CheckedTarget {
  /** The parsed, normalised URL (no fragment, no trailing dot on the host name). */
  readonly url: URL
  readonly scheme: 'http:' | 'https:'
  /** Normalised host name or IP text: no brackets, no trailing dot, lower case. */
  readonly hostname: string
  /** Explicit port or the scheme's default. */
  readonly port: number
  /** The checked IP address to connect to. */
  readonly address: string
  readonly family: 4 | 6
  /** Built from `address`, port always written: `http://10.0.0.5:8080`, `https://[fd00::1]:443`. */
  readonly origin: string
  /** Value for the Host header, from the URL: `host[:port]`, brackets for IPv6, no default port. */
  readonly hostHeader: string
  /** TLS SNI and certificate name, for https when the host is a DNS name. */
  readonly servername?: string
  /** Path and query. */
  readonly path: string
}

/** The system resolver, `/etc/hosts` included, addresses in the resolver's order. */
async function systemLookup (hostname: string): Promise<ReadonlyArray<{ address: string, family: 4 | 6 }>> {
  const results = await dnsLookup(hostname, { all: true, verbatim: true })
  return results.map((r) => ({ address: r.address, family: r.family === 6 ? 6 : 4 }))
}

function forbidden (message: string): OutbridgeError {
  return new OutbridgeError('FORBIDDEN_TARGET', message)
}

function describe (target: TargetUrl): string {
  return target.host.kind === 'ip' && target.host.ip.family === 6
    ? `[${target.hostname}]:${target.port}`
    : `${target.hostname}:${target.port}`
}

const MAX_VERDICTS = 4096

/** Checks target URLs against a fixed list of `--allow` rules. */
export class TargetPolicy {
  /** The rules as given, for logs. */
  readonly rules: readonly string[]
  readonly #rules: readonly TargetRule[]
  readonly #lookup: LookupFn
  /**
   * Verdicts by "host port address": the rules never change, so a pair checked once need not be
   * checked again (the address checks cost a few percent of a small call). Bounded.
   */
  readonly #verdicts = new Map<string, string | undefined>()

  /**
   * @param rules `--allow` rules; none means nothing is allowed.
   * @param options.lookup resolver used by `check()`. @default the system resolver
   * @throws {RuleError} naming the first rule that cannot be parsed.
   */
  constructor (rules: readonly string[], options: { lookup?: LookupFn } = {}) {
    this.#rules = rules.map(parseRule)
    this.rules = Object.freeze([...rules])
    this.#lookup = options.lookup ?? systemLookup
  }

  /**
   * Validates `url`, resolves its host (IP literals are not resolved), checks the rules and
   * returns where to connect: the first resolved address, and only when every resolved address
   * is allowed by a rule covering the host and port. Never connects. Rejects with an `OutbridgeError`: `BAD_REQUEST`
   * for a malformed URL, `FORBIDDEN_TARGET` when the rules refuse it (also when any one resolved
   * address is refused), `TARGET_UNREACHABLE` when the name does not resolve.
   */
  async check (url: string): Promise<CheckedTarget> {
    const target = parseTargetUrl(url)
    const covering = this.#rules.filter((rule) => ruleCoversHost(rule, target.host, target.port))
    if (covering.length === 0 || !metadataNameAllowed(this.#rules, target.host, target.port)) {
      throw forbidden(`no rule allows ${describe(target)}`)
    }
    const addresses = await this.#resolve(target.host)
    for (const ip of addresses) {
      const refusal = this.#verdict(target, ip, covering)
      if (refusal !== undefined) throw forbidden(refusal)
    }
    return checkedTarget(target, addresses[0])
  }

  /** Why `ip` is refused for this target, or undefined when a covering rule allows it. */
  #verdict (target: TargetUrl, ip: IpAddress, covering: readonly TargetRule[]): string | undefined {
    const key = `${target.hostname} ${target.port} ${ip.address}`
    if (this.#verdicts.has(key)) return this.#verdicts.get(key)
    const addressClass = classifyAddress(ip)
    const refusal = covering.some((rule) => ruleAllowsAddress(rule, target.host, ip, addressClass))
      ? undefined
      : `no rule allows ${describe(target)} at address ${ip.address}`
    if (this.#verdicts.size >= MAX_VERDICTS) this.#verdicts.clear()
    this.#verdicts.set(key, refusal)
    return refusal
  }

  async #resolve (host: Host): Promise<readonly IpAddress[]> {
    if (host.kind === 'ip') return [host.ip]
    let results: ReadonlyArray<{ address: string }>
    try {
      results = await this.#lookup(host.name)
    } catch (err) {
      throw new OutbridgeError('TARGET_UNREACHABLE', `cannot resolve ${host.name}`, { cause: err })
    }
    if (results.length === 0) throw new OutbridgeError('TARGET_UNREACHABLE', `${host.name} has no address`)
    return results.map(({ address }) => {
      const ip = parseIp(address)
      // An answer that is no plain IP address cannot be checked, so it cannot be allowed.
      if (ip === undefined) throw forbidden(`${host.name} resolved to an address that cannot be checked`)
      return ip
    })
  }
}

function checkedTarget (target: TargetUrl, ip: IpAddress): CheckedTarget {
  const addressText = ip.family === 6 ? `[${ip.address}]` : ip.address
  return {
    url: target.url,
    scheme: target.scheme,
    hostname: target.hostname,
    port: target.port,
    address: ip.address,
    family: ip.family,
    origin: `${target.scheme}//${addressText}:${target.port}`,
    hostHeader: target.hostHeader,
    path: target.path,
    ...(target.scheme === 'https:' && target.host.kind === 'name' ? { servername: target.host.name } : {})
  }
}
