import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parseIp } from '../../agent/ip-address.js'
import {
  isLoopbackName, isMetadataName, metadataNameAllowed, parseRule, RuleError, ruleCoversHost, validateRule
} from '../../agent/target-rule.js'
import type { TargetRule } from '../../agent/target-rule.js'
import type { Host } from '../../agent/target-url.js'

/** What a parsed rule means, without its IpNetwork (checked through `contains` instead). */
function shape (rule: TargetRule): object {
  switch (rule.kind) {
    case 'any': return { kind: 'any', port: rule.port }
    case 'name': return { kind: 'name', name: rule.name, port: rule.port }
    case 'suffix': return { kind: 'suffix', suffix: rule.suffix, port: rule.port }
    case 'ip': return { kind: 'ip', port: rule.port }
  }
}

function contains (rule: TargetRule, address: string): boolean {
  assert.equal(rule.kind, 'ip')
  const ip = parseIp(address)
  assert.ok(ip)
  return rule.kind === 'ip' && rule.network.contains(ip)
}

test('parseRule parses and normalises each rule kind', () => {
  const cases: Array<[string, object]> = [
    ['*', { kind: 'any', port: undefined }],
    ['*:443', { kind: 'any', port: 443 }],
    ['db.corp.example', { kind: 'name', name: 'db.corp.example', port: undefined }],
    ['  DB.Corp.Example.  ', { kind: 'name', name: 'db.corp.example', port: undefined }],
    ['localhost:8080', { kind: 'name', name: 'localhost', port: 8080 }],
    ['bücher.example', { kind: 'name', name: 'xn--bcher-kva.example', port: undefined }],
    ['*.corp.example', { kind: 'suffix', suffix: 'corp.example', port: undefined }],
    ['*.Corp.Example.:8443', { kind: 'suffix', suffix: 'corp.example', port: 8443 }],
    ['10.0.0.5', { kind: 'ip', port: undefined }],
    ['10.0.0.5:8080', { kind: 'ip', port: 8080 }],
    ['::1', { kind: 'ip', port: undefined }],
    ['[::1]', { kind: 'ip', port: undefined }],
    ['[fd00::1]:8080', { kind: 'ip', port: 8080 }],
    ['fd00::1:8080', { kind: 'ip', port: undefined }], // a bare IPv6 address, not a port
    ['10.0.0.0/8', { kind: 'ip', port: undefined }],
    ['fd00::/8', { kind: 'ip', port: undefined }],
    ['[fd00::]/8', { kind: 'ip', port: undefined }]
  ]
  for (const [text, expected] of cases) assert.deepEqual(shape(parseRule(text)), expected, text)
  assert.equal(parseRule(' * ').text, ' * ')
})

test('IP rules cover the right addresses, in any spelling', () => {
  const cases: Array<[string, string[], string[]]> = [
    ['10.0.0.5', ['10.0.0.5', '::ffff:10.0.0.5'], ['10.0.0.6']],
    ['0x7f.1', ['127.0.0.1'], ['127.0.0.2']],
    ['2130706433', ['127.0.0.1'], ['127.0.0.2']],
    ['0177.0.0.1', ['127.0.0.1'], ['127.0.0.2']],
    ['[::ffff:a9fe:a9fe]', ['169.254.169.254'], ['169.254.169.253']],
    ['::1', ['::1'], ['::2', '127.0.0.1']],
    ['10.0.0.0/8', ['10.0.0.0', '10.255.255.255'], ['11.0.0.0', '9.255.255.255']],
    ['10.1.2.3/8', ['10.200.0.1'], ['11.0.0.0']], // host bits are ignored
    ['169.254.169.254/32', ['169.254.169.254'], ['169.254.169.253']],
    ['0.0.0.0/0', ['1.2.3.4', '255.255.255.255'], ['::2']],
    ['fd00::/8', ['fd00::1', 'fdff:ffff::1'], ['fc00::1', 'fe00::1']],
    ['::ffff:169.254.0.0/112', ['169.254.1.1'], ['169.255.0.0']],
    ['::ffff:0:0/96', ['1.2.3.4'], ['::2']]
  ]
  for (const [text, inside, outside] of cases) {
    const rule = parseRule(text)
    for (const address of inside) assert.equal(contains(rule, address), true, `${text} contains ${address}`)
    for (const address of outside) assert.equal(contains(rule, address), false, `${text} lacks ${address}`)
  }
})

test('parseRule throws a RuleError naming the rule; validateRule returns its message', () => {
  const cases = ['', '   ', '**', '*.', '*.*.corp', 'a*.corp', '*corp', '*.10.0.0.1', 'host:', 'host:0',
    'host:65536', 'host:http', 'host:80:81', 'a/b', '10/8', '10.0.0.0/33', '10.0.0.0/-1', '10.0.0.0/',
    '10.0.0.0/8:443', 'fd00::/129', '::ffff:0:0/95', 'localhost/8', '[::1', '[::1]x', '[::1]:', '[10.0.0.1]',
    '[fe80::1%eth0]', 'fe80::1%eth0', 'a..b', 'user@host', 'http://host', 'a b', 'a\\b', '1.2.3.4.5']
  for (const text of cases) {
    assert.throws(() => parseRule(text), (err: unknown) => {
      assert.ok(err instanceof RuleError, JSON.stringify(text))
      assert.equal(err.code, 'INVALID_RULE')
      assert.equal(err.rule, text)
      assert.ok(err.message.includes(JSON.stringify(text)))
      return true
    })
    assert.equal(typeof validateRule(text), 'string', JSON.stringify(text))
  }
  assert.equal(validateRule('*.corp.example'), undefined)
  assert.equal(validateRule('[fd00::1]:443'), undefined)
})

test('special names: loopback and cloud metadata', () => {
  for (const n of ['localhost', 'a.localhost', 'a.b.localhost']) assert.equal(isLoopbackName(n), true, n)
  for (const n of ['localhost.corp', 'mylocalhost', 'localhostx']) assert.equal(isLoopbackName(n), false, n)
  for (const n of ['metadata', 'metadata.google.internal', 'metadata.goog', 'metadata.azure.internal',
    'instance-data', 'instance-data.ec2.internal', 'x.metadata.google.internal']) {
    assert.equal(isMetadataName(n), true, n)
  }
  for (const n of ['metadata.corp', 'mymetadata', 'google.internal', 'data']) assert.equal(isMetadataName(n), false, n)
})

test('a metadata name needs an exact name rule with a matching port', () => {
  const host: Host = { kind: 'name', name: 'metadata.google.internal' }
  const allowed = (rules: string[], port = 80): boolean => metadataNameAllowed(rules.map(parseRule), host, port)
  assert.equal(allowed(['*', '*.internal', '*.google.internal', '169.254.169.254']), false)
  assert.equal(allowed(['metadata.google.internal']), true)
  assert.equal(allowed(['metadata.google.internal:80']), true)
  assert.equal(allowed(['metadata.google.internal:8080']), false)
  assert.equal(metadataNameAllowed([], { kind: 'name', name: 'db.corp' }, 80), true)
})

test('ruleCoversHost matches names, suffixes and ports before any lookup', () => {
  const n = (name: string): Host => ({ kind: 'name', name })
  const ip: Host = { kind: 'ip', ip: { address: '10.0.0.5', family: 4 } }
  const cases: Array<[string, Host, number, boolean]> = [
    ['*', n('db.corp'), 80, true],
    ['*', n('localhost'), 80, false],
    ['*', n('app.localhost'), 80, false],
    ['*', ip, 1, true],
    ['*:443', ip, 80, false],
    ['db.corp', n('db.corp'), 5432, true],
    ['db.corp', n('x.db.corp'), 80, false],
    ['db.corp', ip, 80, false],
    ['db.corp:5432', n('db.corp'), 5433, false],
    ['*.corp', n('a.corp'), 80, true],
    ['*.corp', n('a.b.corp'), 80, true],
    ['*.corp', n('corp'), 80, false],
    ['*.corp', n('acorp'), 80, false],
    ['*.corp', n('a.corp.evil'), 80, false],
    ['*.corp:443', n('a.corp'), 80, false],
    ['*.localhost', n('app.localhost'), 80, true],
    ['10.0.0.0/8', n('anything'), 80, true],
    ['10.0.0.5:8080', ip, 8080, true],
    ['10.0.0.5:8080', ip, 80, false]
  ]
  for (const [rule, host, port, expected] of cases) {
    assert.equal(ruleCoversHost(parseRule(rule), host, port), expected, `${rule} ${JSON.stringify(host)}:${port}`)
  }
})
