/**
 * IP address parsing and the address classes the target policy needs: which addresses are never
 * reachable without an explicit IP/CIDR rule, and which ones are loopback. Pure, no I/O.
 *
 * Every address is normalised before it is classified or matched: IPv6 is written in its
 * canonical compressed form, and an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) becomes the plain
 * IPv4 address it stands for, whether it comes from a URL, a rule or the resolver.
 */
import { BlockList, isIP } from 'node:net'

/** An IP address in canonical text. */
export interface IpAddress {
  readonly address: string
  readonly family: 4 | 6
}

/** `blocked`: needs an explicit IP/CIDR rule. `loopback`: needs a rule naming it. */
export type AddressClass = 'blocked' | 'loopback' | 'open'

type Subnet = readonly [network: string, prefix: number, type: 'ipv4' | 'ipv6']

/** Never reachable through `*` or a name rule, only through an IP/CIDR rule containing them. */
const ALWAYS_BLOCKED: readonly Subnet[] = [
  ['0.0.0.0', 8, 'ipv4'], // "this network": 0.0.0.0 reaches the local host on Linux
  ['169.254.0.0', 16, 'ipv4'], // link-local, holds 169.254.169.254 and 169.254.170.2 (ECS)
  ['224.0.0.0', 4, 'ipv4'], // multicast
  ['255.255.255.255', 32, 'ipv4'], // limited broadcast
  ['100.100.100.200', 32, 'ipv4'], // Alibaba Cloud metadata (inside 100.64/10, otherwise open)
  ['168.63.129.16', 32, 'ipv4'], // Azure WireServer (a public address with host-level powers)
  ['::', 128, 'ipv6'], // unspecified
  ['fe80::', 10, 'ipv6'], // link-local
  ['ff00::', 8, 'ipv6'], // multicast
  ['fd00:ec2::254', 128, 'ipv6'], // AWS instance metadata over IPv6 (inside fc00::/7)
  ['fd20:ce::254', 128, 'ipv6'] // Google Cloud metadata over IPv6 (inside fc00::/7)
]

const LOOPBACK: readonly Subnet[] = [
  ['127.0.0.0', 8, 'ipv4'],
  ['::1', 128, 'ipv6']
]

const BLOCKED_LIST = subnetList(ALWAYS_BLOCKED)
const LOOPBACK_LIST = subnetList(LOOPBACK)
const STRICTNESS: Readonly<Record<AddressClass, number>> = { open: 0, loopback: 1, blocked: 2 }

function subnetList (subnets: readonly Subnet[]): BlockList {
  const list = new BlockList()
  for (const [network, prefix, type] of subnets) list.addSubnet(network, prefix, type)
  return list
}

/**
 * Parses IP text (no brackets, no zone id) into its normalised form; `undefined` when `text` is
 * not an IP address. Only the standard dotted-quad IPv4 form is accepted here: other IPv4
 * spellings are the URL parser's job (see `parseHost`).
 */
export function parseIp (text: string): IpAddress | undefined {
  const family = isIP(text)
  if (family === 4) return { address: text, family: 4 }
  // A zone id (`fe80::1%eth0`) names an interface of this host: never a valid target.
  if (family !== 6 || text.includes('%')) return undefined
  const words = ipv6Words(canonicalIpv6(text))
  if (words.slice(0, 5).every((w) => w === 0) && words[5] === 0xffff) {
    return { address: ipv4FromWords(words[6], words[7]), family: 4 }
  }
  return { address: canonicalIpv6(text), family: 6 }
}

/** The compressed lower-case form of a valid IPv6 address, as the WHATWG URL parser writes it. */
function canonicalIpv6 (text: string): string {
  return new URL(`http://[${text}]/`).hostname.slice(1, -1)
}

/** The eight 16-bit words of a canonical IPv6 address (which never holds a dotted quad). */
function ipv6Words (canonical: string): number[] {
  const [head, tail] = canonical.split('::')
  const front = head === '' ? [] : head.split(':')
  const back = tail === undefined || tail === '' ? [] : tail.split(':')
  const zeros: string[] = new Array<string>(8 - front.length - back.length).fill('0')
  return [...front, ...zeros, ...back].map((word) => parseInt(word, 16))
}

function ipv4FromWords (high: number, low: number): string {
  return [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.')
}

/**
 * The IPv4 address embedded in a NAT64 address of the well-known prefix `64:ff9b::/96`
 * (RFC 6052): a NAT64 gateway on the bridge's network would forward it to that IPv4 address.
 */
export function nat64Embedded (ip: IpAddress): IpAddress | undefined {
  if (ip.family !== 6) return undefined
  const words = ipv6Words(ip.address)
  if (words[0] !== 0x64 || words[1] !== 0xff9b || words.slice(2, 6).some((w) => w !== 0)) return undefined
  return { address: ipv4FromWords(words[6], words[7]), family: 4 }
}

/**
 * The class of a normalised address. A NAT64 address gets the stricter of its own class and the
 * class of the IPv4 address it embeds.
 */
export function classifyAddress (ip: IpAddress): AddressClass {
  const own = directClass(ip)
  const embedded = nat64Embedded(ip)
  if (embedded === undefined) return own
  const inner = directClass(embedded)
  return STRICTNESS[inner] > STRICTNESS[own] ? inner : own
}

function directClass (ip: IpAddress): AddressClass {
  const type = ip.family === 4 ? 'ipv4' : 'ipv6'
  if (BLOCKED_LIST.check(ip.address, type)) return 'blocked'
  if (LOOPBACK_LIST.check(ip.address, type)) return 'loopback'
  return 'open'
}

/** A set of addresses given as one network and prefix length (a bare address is a /32 or /128). */
export class IpNetwork {
  readonly #list = new BlockList()
  constructor (network: IpAddress, prefix: number) {
    this.#list.addSubnet(network.address, prefix, network.family === 4 ? 'ipv4' : 'ipv6')
  }

  /** True when the normalised `ip` lies inside this network. */
  contains (ip: IpAddress): boolean {
    return this.#list.check(ip.address, ip.family === 4 ? 'ipv4' : 'ipv6')
  }
}
