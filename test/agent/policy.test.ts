import { test } from 'node:test'
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { connect, createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { RuleError, TargetPolicy, validateRule } from '../../agent/policy.js'
import type { LookupFn } from '../../agent/policy.js'
import type { ErrorCode } from '../../protocol/errors.js'

// Fake DNS: no test here ever asks a real resolver about an outside name.
const DNS: Readonly<Record<string, readonly string[]>> = {
  'db.corp.example': ['10.0.0.5'],
  'web.corp.example': ['10.0.0.6', 'fd00::6'],
  'a.b.corp.example': ['10.0.0.7'],
  'corp.example': ['10.0.0.8'],
  'public.example': ['203.0.113.10'],
  'cgnat.corp.example': ['100.64.1.1'],
  'evil.corp.example': ['169.254.169.254'],
  'mixed.corp.example': ['10.0.0.9', '169.254.169.254'],
  'mapped.corp.example': ['::ffff:169.254.169.254'],
  'mappedok.corp.example': ['::ffff:10.0.0.10'],
  'nat64.corp.example': ['64:ff9b::a9fe:a9fe'],
  'zero.corp.example': ['0.0.0.0'],
  'ecs.corp.example': ['169.254.170.2'],
  'ali.corp.example': ['100.100.100.200'],
  'v6meta.corp.example': ['fd00:ec2::254'],
  'linklocal6.corp.example': ['fe80::1'],
  'multicast.corp.example': ['224.0.0.251'],
  'loop.corp.example': ['127.0.0.1'],
  'loop6.corp.example': ['::1'],
  'garbage.corp.example': ['not-an-ip'],
  'zone.corp.example': ['fe80::1%eth0'],
  'empty.corp.example': [],
  localhost: ['::1', '127.0.0.1'],
  'app.localhost': ['127.0.0.1'],
  myhost: ['127.0.1.1'],
  metadata: ['169.254.169.254'],
  'metadata.google.internal': ['169.254.169.254'],
  'x.metadata.google.internal': ['169.254.169.254']
}

function fakeDns (): { lookup: LookupFn, calls: string[] } {
  const calls: string[] = []
  const lookup: LookupFn = async (hostname) => {
    calls.push(hostname)
    const answers = DNS[hostname]
    if (answers === undefined) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' })
    return answers.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }))
  }
  return { lookup, calls }
}

interface Case {
  readonly rules: readonly string[]
  readonly url: string
  /** The address connected to, or the error code. */
  readonly expect: string
  /** How many lookups the check may make (a refused name is never resolved). */
  readonly lookups: number
}

const META_SPELLINGS = [
  'http://169.254.169.254/latest/meta-data/', 'http://2852039166/', 'http://0xA9FEA9FE/',
  'http://0xa9.0xfe.0xa9.0xfe/', 'http://0251.0376.0251.0376/', 'http://169.254.43518/', 'http://169.16689662/',
  'http://0251.254.169.254/', 'http://%31%36%39.254.169.254/', 'http://169.254.169.254.:80/',
  'http://[::ffff:169.254.169.254]/', 'http://[::ffff:a9fe:a9fe]/', 'http://[0:0:0:0:0:FFFF:A9FE:A9FE]/',
  'HTTP://169.254.169.254/'
]
const META_V6_AND_NAT64 = [
  'http://[64:ff9b::a9fe:a9fe]/', 'http://[64:ff9b::169.254.169.254]/', 'http://[fd00:ec2::254]/',
  'http://[fd20:ce::254]/', 'http://169.254.170.2/v2/credentials', 'http://100.100.100.200/latest/meta-data/',
  'http://168.63.129.16/', 'http://[fe80::1]/', 'http://0.0.0.0/', 'http://0/', 'http://[::]/',
  'http://224.0.0.1/', 'http://255.255.255.255/', 'http://[ff02::1]/'
]
const LOOPBACK_SPELLINGS = [
  'http://127.0.0.1/', 'http://127.1/', 'http://127.0.0.2/', 'http://2130706433/', 'http://0x7f000001/',
  'http://017700000001/', 'http://0x7f.1/', 'http://[::1]/', 'http://[0:0:0:0:0:0:0:1]/',
  'http://[::ffff:127.0.0.1]/', 'http://[64:ff9b::7f00:1]/'
]
const LOOPBACK_NAMES = ['http://localhost/', 'http://LOCALHOST:8080/', 'http://localhost./', 'http://app.localhost/']
const METADATA_NAMES = [
  'http://metadata.google.internal/computeMetadata/v1/', 'http://METADATA.GOOGLE.INTERNAL./', 'http://metadata/',
  'http://x.metadata.google.internal/', 'http://metadata.azure.internal/', 'http://instance-data/'
]

const ok = (rules: readonly string[], url: string, address: string, lookups = 0): Case => ({ rules, url, expect: address, lookups })
const no = (rules: readonly string[], url: string, code: ErrorCode, lookups = 0): Case => ({ rules, url, expect: code, lookups })

const CASES: readonly Case[] = [
  // Deny by default.
  no([], 'http://10.0.0.5/', 'FORBIDDEN_TARGET'),
  no([], 'http://db.corp.example/', 'FORBIDDEN_TARGET'),
  // Cloud metadata and the other always-blocked addresses, in every spelling: `*` never reaches them.
  ...META_SPELLINGS.map((url) => no(['*'], url, 'FORBIDDEN_TARGET')),
  ...META_SPELLINGS.map((url) => no(['*', '10.0.0.0/8', 'fd00::/8'], url, 'FORBIDDEN_TARGET')),
  ...META_V6_AND_NAT64.map((url) => no(['*'], url, 'FORBIDDEN_TARGET')),
  // ... only an explicit IP/CIDR rule containing them does.
  ...META_SPELLINGS.map((url) => ok(['169.254.169.254'], url, '169.254.169.254')),
  ok(['169.254.0.0/16'], 'http://[::ffff:a9fe:a9fe]/', '169.254.169.254'),
  ok(['fd00:ec2::254'], 'http://[fd00:ec2::254]/', 'fd00:ec2::254'),
  ok(['64:ff9b::/96'], 'http://[64:ff9b::a9fe:a9fe]/', '64:ff9b::a9fe:a9fe'),
  ok(['0.0.0.0/0'], 'http://100.100.100.200/', '100.100.100.200'),
  // Loopback: not through `*`, through a rule naming it.
  ...LOOPBACK_SPELLINGS.map((url) => no(['*'], url, 'FORBIDDEN_TARGET')),
  ...LOOPBACK_NAMES.map((url) => no(['*'], url, 'FORBIDDEN_TARGET')),
  ok(['127.0.0.1'], 'http://2130706433/', '127.0.0.1'),
  ok(['127.0.0.1'], 'http://0x7f.1/', '127.0.0.1'),
  ok(['127.0.0.1'], 'http://[::ffff:127.0.0.1]/', '127.0.0.1'),
  ok(['0x7f.1'], 'http://127.0.0.1/', '127.0.0.1'),
  ok(['127.0.0.0/8'], 'http://127.0.0.2/', '127.0.0.2'),
  ok(['::1'], 'http://[::1]:8080/', '::1'),
  ok(['localhost'], 'http://localhost:3000/', '::1', 1),
  ok(['localhost'], 'http://LOCALHOST./', '::1', 1),
  ok(['localhost', '*'], 'http://localhost/', '::1', 1),
  ok(['*.localhost'], 'http://app.localhost/', '127.0.0.1', 1),
  no(['127.0.0.1'], 'http://localhost/', 'FORBIDDEN_TARGET', 1), // ::1 is not allowed: every address must be
  no(['127.0.0.1'], 'http://127.0.0.2/', 'FORBIDDEN_TARGET'),
  no(['localhost'], 'http://127.0.0.1/', 'FORBIDDEN_TARGET'),
  ok(['myhost'], 'http://myhost/', '127.0.1.1', 1), // an exact name rule may reach loopback (/etc/hosts)
  no(['*'], 'http://myhost/', 'FORBIDDEN_TARGET', 1),
  no(['*.corp.example'], 'http://loop.corp.example/', 'FORBIDDEN_TARGET', 1),
  no(['*.corp.example'], 'http://loop6.corp.example/', 'FORBIDDEN_TARGET', 1),
  no(['*'], 'http://loop.corp.example/', 'FORBIDDEN_TARGET', 1),
  // A DNS name resolving to a blocked address, whatever name rule matched it.
  ...['evil', 'mixed', 'mapped', 'nat64', 'zero', 'ecs', 'ali', 'v6meta', 'linklocal6', 'multicast'].flatMap((n) => [
    no(['*'], `http://${n}.corp.example/`, 'FORBIDDEN_TARGET', 1),
    no(['*.corp.example'], `http://${n}.corp.example/`, 'FORBIDDEN_TARGET', 1),
    no([`${n}.corp.example`], `http://${n}.corp.example/`, 'FORBIDDEN_TARGET', 1)
  ]),
  ok(['evil.corp.example', '169.254.169.254'], 'http://evil.corp.example/', '169.254.169.254', 1),
  ok(['*.corp.example'], 'http://mappedok.corp.example/', '10.0.0.10', 1),
  no(['*'], 'http://garbage.corp.example/', 'FORBIDDEN_TARGET', 1),
  no(['*'], 'http://zone.corp.example/', 'FORBIDDEN_TARGET', 1),
  // Metadata names: only an exact name rule, and then the address still needs its IP rule.
  ...METADATA_NAMES.map((url) => no(['*'], url, 'FORBIDDEN_TARGET')),
  ...METADATA_NAMES.map((url) => no(['*.internal', '*.google.internal', '169.254.169.254'], url, 'FORBIDDEN_TARGET')),
  no(['metadata.google.internal'], 'http://metadata.google.internal/', 'FORBIDDEN_TARGET', 1),
  ok(['metadata.google.internal', '169.254.169.254'], 'http://metadata.google.internal./', '169.254.169.254', 1),
  // Each rule kind, positive and negative, with ports.
  ok(['*'], 'http://10.0.0.5/', '10.0.0.5'),
  ok(['*'], 'http://172.16.0.1/', '172.16.0.1'),
  ok(['*'], 'http://192.168.1.1/', '192.168.1.1'),
  ok(['*'], 'http://100.64.0.1/', '100.64.0.1'),
  ok(['*'], 'http://[fd00::1]/', 'fd00::1'),
  ok(['*'], 'http://public.example/', '203.0.113.10', 1),
  ok(['*'], 'http://cgnat.corp.example/', '100.64.1.1', 1),
  ok(['*:443'], 'https://10.0.0.5/', '10.0.0.5'),
  no(['*:443'], 'http://10.0.0.5/', 'FORBIDDEN_TARGET'),
  ok(['db.corp.example'], 'http://db.corp.example:5432/', '10.0.0.5', 1),
  ok(['DB.Corp.Example.'], 'http://db.corp.example./', '10.0.0.5', 1),
  no(['db.corp.example'], 'http://web.corp.example/', 'FORBIDDEN_TARGET'),
  no(['db.corp.example'], 'http://10.0.0.5/', 'FORBIDDEN_TARGET'),
  ok(['db.corp.example:8080'], 'http://db.corp.example:8080/', '10.0.0.5', 1),
  no(['db.corp.example:8080'], 'http://db.corp.example/', 'FORBIDDEN_TARGET'),
  no(['db.corp.example:80'], 'https://db.corp.example/', 'FORBIDDEN_TARGET'),
  ok(['db.corp.example:443'], 'https://db.corp.example/', '10.0.0.5', 1),
  ok(['*.corp.example'], 'http://a.b.corp.example/', '10.0.0.7', 1),
  ok(['*.corp.example'], 'http://web.corp.example/', '10.0.0.6', 1),
  no(['*.corp.example'], 'http://corp.example/', 'FORBIDDEN_TARGET'),
  no(['*.corp.example'], 'http://notcorp.example/', 'FORBIDDEN_TARGET'),
  no(['*.corp.example:443'], 'http://db.corp.example/', 'FORBIDDEN_TARGET'),
  ok(['10.0.0.5'], 'http://10.0.0.5:1234/', '10.0.0.5'),
  ok(['10.0.0.5'], 'http://db.corp.example/', '10.0.0.5', 1), // IP rules match the resolved address
  no(['10.0.0.5'], 'http://10.0.0.6/', 'FORBIDDEN_TARGET'),
  ok(['10.0.0.5:8080'], 'http://10.0.0.5:8080/', '10.0.0.5'),
  no(['10.0.0.5:8080'], 'http://10.0.0.5/', 'FORBIDDEN_TARGET'),
  ok(['10.0.0.0/8'], 'http://10.255.0.1/', '10.255.0.1'),
  no(['10.0.0.0/8'], 'http://11.0.0.1/', 'FORBIDDEN_TARGET'),
  no(['10.0.0.0/8'], 'http://web.corp.example/', 'FORBIDDEN_TARGET', 1), // fd00::6 is outside
  ok(['10.0.0.0/8', 'fd00::/8'], 'http://web.corp.example/', '10.0.0.6', 1),
  no(['10.0.0.0/8', 'other.example', '*.other.example'], 'http://web.corp.example/', 'FORBIDDEN_TARGET', 1), // only rules covering the name count
  no(['10.0.0.0/8', '[fd00::6]:8080'], 'http://web.corp.example/', 'FORBIDDEN_TARGET', 1),
  ok(['fd00::/8'], 'http://[fd00::1]/', 'fd00::1'),
  no(['fd00::/8'], 'http://[fc00::1]/', 'FORBIDDEN_TARGET'),
  ok(['[fd00::1]:8443'], 'https://[fd00::1]:8443/', 'fd00::1'),
  no(['[fd00::1]:8443'], 'https://[fd00::1]/', 'FORBIDDEN_TARGET'),
  // Names that do not resolve.
  no(['*'], 'http://nx.corp.example/', 'TARGET_UNREACHABLE', 1),
  no(['*'], 'http://empty.corp.example/', 'TARGET_UNREACHABLE', 1),
  // Malformed URLs, refused before any lookup.
  ...['http://user@db.corp.example/', 'http://@10.0.0.5/', 'http://db.corp.example\\@10.0.0.5/', 'ftp://10.0.0.5/',
    'http://10.0.0.5/\r\nHost: x', 'http:\t//10.0.0.5/', 'db.corp.example', 'http://[fe80::1%25eth0]/']
    .map((url) => no(['*'], url, 'BAD_REQUEST'))
]

test('the SSRF table: every case is decided by check(), with at most one lookup', async () => {
  for (const c of CASES) {
    const dns = fakeDns()
    const policy = new TargetPolicy(c.rules, { lookup: dns.lookup })
    const label = `${JSON.stringify(c.rules)} ${JSON.stringify(c.url)}`
    if (/^[A-Z_]+$/.test(c.expect)) {
      await assert.rejects(policy.check(c.url), { code: c.expect }, label)
    } else {
      const target = await policy.check(c.url)
      assert.equal(target.address, c.expect, label)
      assert.equal(target.family, c.expect.includes(':') ? 6 : 4, label)
    }
    assert.equal(dns.calls.length, c.lookups, `lookups for ${label}`)
  }
})

test('check() returns the checked target, built from the address and the URL', async () => {
  const policy = new TargetPolicy(['*.corp.example', 'fd00::/8', '10.0.0.5'], { lookup: fakeDns().lookup })
  const byName = await policy.check('https://DB.corp.example.:8443/a/b?c=d#frag')
  assert.equal(byName.url.href, 'https://db.corp.example:8443/a/b?c=d')
  assert.deepEqual({ ...byName, url: undefined }, {
    url: undefined,
    scheme: 'https:',
    hostname: 'db.corp.example',
    port: 8443,
    address: '10.0.0.5',
    family: 4,
    origin: 'https://10.0.0.5:8443',
    hostHeader: 'db.corp.example:8443',
    servername: 'db.corp.example',
    path: '/a/b?c=d'
  })
  const byIp = await policy.check('https://[FD00::1]/x')
  assert.equal(byIp.origin, 'https://[fd00::1]:443')
  assert.equal(byIp.hostHeader, '[fd00::1]')
  assert.equal(byIp.hostname, 'fd00::1')
  assert.equal('servername' in byIp, false)
  const plain = await policy.check('http://db.corp.example/')
  assert.equal(plain.origin, 'http://10.0.0.5:80')
  assert.equal(plain.port, 80)
  assert.equal('servername' in plain, false)
})

test('a rebinding resolver cannot swap the address: one lookup per check, its answer returned', async () => {
  const answers = ['10.0.0.5', '169.254.169.254']
  const calls: string[] = []
  const lookup: LookupFn = async (hostname) => {
    calls.push(hostname)
    return [{ address: answers[Math.min(calls.length - 1, answers.length - 1)], family: 4 }]
  }
  const policy = new TargetPolicy(['*'], { lookup })
  const target = await policy.check('http://rebind.corp.example/')
  assert.equal(target.address, '10.0.0.5')
  assert.equal(target.origin, 'http://10.0.0.5:80')
  assert.equal(calls.length, 1)
  // The next check resolves afresh and sees the new answer, which is refused.
  await assert.rejects(policy.check('http://rebind.corp.example/'), { code: 'FORBIDDEN_TARGET' })
  assert.equal(calls.length, 2)
})

test('check() never connects: a listener on the target port sees no connection', async (t) => {
  let connections = 0
  const server = createServer((socket) => { connections++; socket.destroy() })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.after(() => server.close())
  const port = (server.address() as AddressInfo).port
  await assert.rejects(new TargetPolicy(['*']).check(`http://127.0.0.1:${port}/`), { code: 'FORBIDDEN_TARGET' })
  const allowed = await new TargetPolicy(['127.0.0.1']).check(`http://127.0.0.1:${port}/`)
  assert.equal(allowed.origin, `http://127.0.0.1:${port}`)
  // Connections are accepted in order: when ours arrives, any earlier one would have been counted.
  const probe = connect(port, '127.0.0.1')
  await once(probe, 'close')
  assert.equal(connections, 1)
})

test('the default resolver is the system one (localhost only)', async () => {
  const target = await new TargetPolicy(['localhost']).check('http://localhost:1/')
  assert.ok(target.address === '127.0.0.1' || target.address === '::1', target.address)
  assert.equal(target.family, target.address === '::1' ? 6 : 4)
  await assert.rejects(new TargetPolicy(['*']).check('http://localhost:1/'), { code: 'FORBIDDEN_TARGET' })
})

test('the constructor refuses a bad rule with a RuleError naming it, and keeps the rules as given', () => {
  assert.throws(() => new TargetPolicy(['*', '10/8']), (err: unknown) => {
    assert.ok(err instanceof RuleError)
    assert.equal(err.code, 'INVALID_RULE')
    assert.equal(err.rule, '10/8')
    return true
  })
  const rules = [' *.corp.example', '10.0.0.0/8']
  const policy = new TargetPolicy(rules)
  assert.deepEqual(policy.rules, rules)
  assert.ok(Object.isFrozen(policy.rules))
  assert.equal(validateRule('10.0.0.0/8'), undefined)
  assert.equal(typeof validateRule('10.0.0.0/99'), 'string')
})
