import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { validateHead, type HeadType } from '../../protocol/validate.js'
import { HEAD_LIMITS } from '../../protocol/version.js'
import { GOOD_HEAD, HEAD_STREAM, HEAD_TYPES } from './fixtures.js'

function check (type: HeadType, changes: Readonly<Record<string, unknown>>): ReturnType<typeof validateHead> {
  return validateHead(type, HEAD_STREAM[type], false, { ...GOOD_HEAD[type], ...changes })
}

const limits = (changes: Readonly<Record<string, unknown>>): Record<string, unknown> =>
  ({ limits: { maxMessageBytes: 1 << 20, maxFrameBytes: 1 << 16, initialWindow: 1 << 16, maxStreams: 8, maxBodyBytes: 1 << 20, ...changes } })
const list = (n: number, item: (i: number) => unknown): unknown[] => Array.from({ length: n }, (_, i) => item(i))
const pairs = (n: number): string[] => list(n, (i) => [`h${i}`, 'v']).flat() as string[]

/** [what, head type, accepted (at the bound), refused (just past it)]. */
const BOUNDS: ReadonlyArray<readonly [string, HeadType, Record<string, unknown>, Record<string, unknown>]> = [
  ['hello name length', 'hello', { name: 'n'.repeat(128) }, { name: 'n'.repeat(129) }],
  ['hello name not empty', 'hello', { name: 'n' }, { name: '' }],
  ['hello agent length', 'hello', { agent: 'a'.repeat(64) }, { agent: 'a'.repeat(65) }],
  ['hello version count', 'hello', { versions: list(32, (i) => i + 1) }, { versions: list(33, (i) => i + 1) }],
  ['hello lowest version', 'hello', { versions: [1] }, { versions: [0] }],
  ['hello highest version', 'hello', { versions: [9999] }, { versions: [10_000] }],
  ['hello capability count', 'hello', { capabilities: list(64, () => 'c') }, { capabilities: list(65, () => 'c') }],
  ['hello capability length', 'hello', { capabilities: ['c'.repeat(64)] }, { capabilities: ['c'.repeat(65)] }],
  ['limits.maxFrameBytes minimum', 'hello', limits({ maxFrameBytes: 1024 }), limits({ maxFrameBytes: 1023 })],
  ['limits frame fits message', 'hello', limits({ maxFrameBytes: 2000, maxMessageBytes: 2010 }), limits({ maxFrameBytes: 2000, maxMessageBytes: 2009 })],
  ['limits.initialWindow maximum', 'welcome', limits({ initialWindow: 0x7fffffff }), limits({ initialWindow: 0x80000000 })],
  ['limits.initialWindow minimum', 'welcome', limits({ initialWindow: 0 }), limits({ initialWindow: -1 })],
  ['limits.maxStreams maximum', 'welcome', limits({ maxStreams: 0x7fffffff }), limits({ maxStreams: 0x80000000 })],
  ['limits.maxBodyBytes maximum', 'welcome', limits({ maxBodyBytes: Number.MAX_SAFE_INTEGER }), limits({ maxBodyBytes: 2 ** 53 })],
  ['welcome version', 'welcome', { version: 9999 }, { version: 10_000 }],
  ['welcome session length', 'welcome', { session: 's'.repeat(128) }, { session: 's'.repeat(129) }],
  ['welcome heartbeatMs', 'welcome', { heartbeatMs: 0xffffffff }, { heartbeatMs: 2 ** 32 }],
  ['request method length', 'request', { method: 'M'.repeat(32) }, { method: 'M'.repeat(33) }],
  ['request url length', 'request', { url: 'u'.repeat(HEAD_LIMITS.maxUrlLength) }, { url: 'u'.repeat(HEAD_LIMITS.maxUrlLength + 1) }],
  ['request header count', 'request', { headers: pairs(HEAD_LIMITS.maxHeaders) }, { headers: pairs(HEAD_LIMITS.maxHeaders + 1) }],
  ['request timeoutMs', 'request', { timeoutMs: 0x7fffffff }, { timeoutMs: 0x80000000 }],
  ['request credential length', 'request', { credential: 'c'.repeat(64) }, { credential: 'c'.repeat(65) }],
  ['response lowest status', 'response', { status: 100 }, { status: 99 }],
  ['response highest status', 'response', { status: 999 }, { status: 1000 }],
  ['reset message length', 'reset', { message: 'm'.repeat(4096) }, { message: 'm'.repeat(4097) }],
  ['goaway message length', 'goaway', { message: 'm'.repeat(4096) }, { message: 'm'.repeat(4097) }],
  ['error message length', 'error', { message: 'm'.repeat(4096) }, { message: 'm'.repeat(4097) }]
]

test('every limit is accepted at its bound and refused one past it', () => {
  for (const [what, type, ok, bad] of BOUNDS) {
    assert.equal(typeof check(type, ok), 'object', `${what}: at the bound`)
    assert.equal(typeof check(type, bad), 'string', `${what}: past the bound`)
  }
})

test('the good heads of the fixtures are valid', () => {
  for (const type of HEAD_TYPES) assert.equal(typeof check(type, {}), 'object', type)
})

test('never throws, whatever the decoder produced', () => {
  fc.assert(fc.property(fc.constantFrom(...HEAD_TYPES), fc.anything({ withNullPrototype: true, withTypedArray: true, withMap: true }), fc.boolean(), (type, head, end) => {
    const result = validateHead(type, 1, end, head)
    assert.ok(typeof result === 'string' || typeof result === 'object')
  }), { numRuns: 2000 })
})

test('never throws when each field of a good head is replaced by anything', () => {
  fc.assert(fc.property(fc.constantFrom(...HEAD_TYPES), fc.anything(), (type, value) => {
    for (const key of Object.keys(GOOD_HEAD[type])) {
      const result = check(type, { [key]: value })
      assert.ok(typeof result === 'string' || typeof result === 'object')
    }
  }), { numRuns: 500 })
})

test('heads that are not maps are refused', () => {
  for (const type of HEAD_TYPES) {
    for (const head of [undefined, null, 0, 'x', true, [], [GOOD_HEAD[type]], new Uint8Array(2), Buffer.from('{}')]) {
      assert.equal(typeof validateHead(type, 1, false, head), 'string', `${type} ${String(head)}`)
    }
  }
})

test('builds a fresh frame: the decoded arrays are copied, unknown fields dropped', () => {
  const headers = ['accept', '*/*']
  const head = { ...GOOD_HEAD.request, headers, extra: 1 }
  const frame = validateHead('request', 7, true, head)
  assert.deepEqual(frame, { type: 'request', stream: 7, end: true, method: 'GET', url: 'http://10.0.0.5/x', headers: ['accept', '*/*'], timeoutMs: 0, followRedirects: false })
  headers[1] = 'changed'
  assert.ok(typeof frame === 'object' && frame.type === 'request' && frame.headers[1] === '*/*')
  const versions = [1, 2]
  const hello = validateHead('hello', 0, false, { ...GOOD_HEAD.hello, versions })
  versions.push(3)
  assert.ok(typeof hello === 'object' && hello.type === 'hello')
  assert.deepEqual(hello.versions, [1, 2])
})

test('credential: absent or nil is left out, an empty string is kept', () => {
  for (const credential of [undefined, null]) {
    const frame = check('request', { credential })
    assert.ok(typeof frame === 'object')
    assert.equal(Object.hasOwn(frame, 'credential'), false)
  }
  assert.deepEqual(check('request', { credential: '' }), { type: 'request', stream: 1, end: false, method: 'GET', url: 'http://10.0.0.5/x', headers: ['accept', '*/*'], timeoutMs: 0, credential: '', followRedirects: false })
})

test('a known error code is kept, anything else becomes INTERNAL_ERROR', () => {
  assert.deepEqual(check('reset', { code: 'TARGET_TIMEOUT' }), { type: 'reset', stream: 5, code: 'TARGET_TIMEOUT', message: 'gone' })
  for (const code of ['SOMETHING_NEW', '', null, 3, ['CANCELLED'], 'hasOwnProperty']) {
    assert.deepEqual(check('goaway', { code }), { type: 'goaway', code: 'INTERNAL_ERROR', message: '' })
  }
})

test('END is carried by REQUEST and RESPONSE only', () => {
  assert.deepEqual(validateHead('response', 3, true, { status: 204 }), { type: 'response', stream: 3, end: true, status: 204, headers: [] })
  assert.deepEqual(validateHead('reset', 3, true, { code: 'CANCELLED' }), { type: 'reset', stream: 3, code: 'CANCELLED', message: '' })
  assert.deepEqual(validateHead('error', 0, true, {}), { type: 'error', code: 'INTERNAL_ERROR', message: '' })
})

test('header names must be HTTP tokens; values may be any string', () => {
  for (const name of ['a b', 'a:b', 'a\r\nb', '', '(x)', 'é', 'x/y']) {
    assert.equal(typeof check('response', { headers: [name, 'v'] }), 'string', JSON.stringify(name))
  }
  assert.equal(typeof check('response', { headers: ['x', ''] }), 'object')
  assert.equal(typeof check('response', { headers: ['x', 'ünïcödé ✓'] }), 'object')
})
