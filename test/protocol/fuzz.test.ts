import { test } from 'node:test'
import assert from 'node:assert/strict'
import v8 from 'node:v8'
import vm from 'node:vm'
import fc from 'fast-check'
import { decodeMessage, type DecodeResult } from '../../protocol/codec.js'
import { encodeMessage } from '../../protocol/codec.js'
import { ERROR_CODES } from '../../protocol/errors.js'
import type { Frame, HeaderList } from '../../protocol/frames.js'
import { DECODE_LIMITS, msgpack, rawFrame, valid } from './fixtures.js'

const KNOWN = new Set(['hello', 'welcome', 'request', 'response', 'data', 'reset', 'window', 'ping', 'pong', 'goaway', 'error', 'unknown', 'invalid'])

/** Decodes and checks the result's shape; any throw fails the property. */
function decodeChecked (bytes: Uint8Array): DecodeResult {
  const result = decodeMessage(bytes, DECODE_LIMITS)
  assert.ok(Array.isArray(result.frames))
  for (const f of result.frames) assert.ok(KNOWN.has(f.type))
  if (result.error !== undefined) {
    assert.equal(result.error.code, 'PROTOCOL_ERROR')
    assert.ok(Number.isInteger(result.error.stream) && result.error.stream >= 0 && result.error.stream <= 0xffffffff)
  }
  return result
}

/** Frames a decoder hands out are valid frames: they re-encode to themselves (modulo -0). */
function assertReencodable (result: DecodeResult): void {
  const frames = result.frames.filter((f): f is Frame => f.type !== 'unknown' && f.type !== 'invalid')
  if (frames.length === 0) return
  const again = decodeMessage(encodeMessage(frames), { maxFrameBytes: 2 ** 32 })
  assert.equal(again.error, undefined)
  assert.deepEqual(JSON.parse(JSON.stringify(again.frames)), JSON.parse(JSON.stringify(frames)))
}

// ---- arbitraries of valid frames ----
const text = (maxLength: number): fc.Arbitrary<string> => fc.string({ unit: 'grapheme-ascii', maxLength })
const words = (maxLength: number): fc.Arbitrary<string> => fc.string({ unit: 'grapheme', maxLength })
const stream = fc.integer({ min: 1, max: 0xffffffff })
const code = fc.constantFrom(...ERROR_CODES)
const token = fc.stringMatching(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,24}$/)
const headers: fc.Arbitrary<HeaderList> = fc.array(fc.tuple(token, words(40)), { maxLength: 12 }).map((pairs) => pairs.flat())
const limits = fc.record({
  maxFrameBytes: fc.integer({ min: 1024, max: 2 ** 40 }),
  extra: fc.integer({ min: 10, max: 2 ** 40 }),
  initialWindow: fc.integer({ min: 0, max: 0x7fffffff }),
  maxStreams: fc.integer({ min: 0, max: 0x7fffffff }),
  maxBodyBytes: fc.maxSafeNat()
}).map(({ extra, ...l }) => ({ ...l, maxMessageBytes: l.maxFrameBytes + extra }))
const bytes8 = fc.uint8Array({ minLength: 8, maxLength: 8 }).map((b) => Buffer.from(b))

// fc.record builds null-prototype objects; the decoder builds plain ones.
const frameArb: fc.Arbitrary<Frame> = fc.oneof(
  fc.record({ type: fc.constant('hello' as const), versions: fc.array(fc.integer({ min: 1, max: 9999 }), { minLength: 1, maxLength: 32 }), name: words(30).filter((s) => s.length > 0 && s.length <= 128), agent: text(64), capabilities: fc.array(text(64), { maxLength: 8 }), limits }),
  fc.record({ type: fc.constant('welcome' as const), version: fc.integer({ min: 0, max: 9999 }), session: text(128), heartbeatMs: fc.integer({ min: 0, max: 0xffffffff }), limits }),
  fc.record({ type: fc.constant('request' as const), stream, end: fc.boolean(), method: fc.stringMatching(/^[A-Z-]{1,32}$/), url: words(200), headers, timeoutMs: fc.integer({ min: 0, max: 0x7fffffff }), credential: fc.option(text(64), { nil: undefined }), followRedirects: fc.boolean() })
    .map(({ credential, ...f }) => credential === undefined ? f : { ...f, credential }),
  fc.record({ type: fc.constant('response' as const), stream, end: fc.boolean(), status: fc.integer({ min: 100, max: 999 }), headers }),
  fc.record({ type: fc.constant('data' as const), stream, end: fc.boolean(), chunk: fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)) }),
  fc.record({ type: fc.constant('reset' as const), stream, code, message: words(100) }),
  fc.record({ type: fc.constant('window' as const), stream, increment: fc.integer({ min: 1, max: 0x7fffffff }) }),
  fc.record({ type: fc.constant('ping' as const), data: bytes8 }),
  fc.record({ type: fc.constant('pong' as const), data: bytes8 }),
  fc.record({ type: fc.constant('goaway' as const), code, message: words(100) }),
  fc.record({ type: fc.constant('error' as const), code, message: words(100) })
).map((f): Frame => ({ ...f }))
const messageArb = fc.array(frameArb, { minLength: 1, maxLength: 8 })

/** Frames with a plausible header (known or unknown type, consistent length) and random payloads. */
const plausibleFrame = fc.record({
  type: fc.integer({ min: 0, max: 0x0d }),
  flags: fc.integer({ min: 0, max: 0xff }),
  stream: fc.constantFrom(0, 1, 2, 3, 0xffffffff),
  payload: fc.oneof(
    fc.uint8Array({ maxLength: 64 }),
    fc.jsonValue({ maxDepth: 7 }).map(msgpack),
    fc.dictionary(fc.constantFrom('versions', 'name', 'limits', 'status', 'headers', 'method', 'url', 'code', 'message', 'version', 'session', 'heartbeatMs'), fc.jsonValue({ maxDepth: 3 })).map(msgpack)
  )
}).map((f) => rawFrame(f.type, f.stream, f.payload, f.flags))

/** CPU time of this process in ms: unlike wall time, not inflated when the machine is busy. */
function cpuMs (): number {
  const { user, system } = process.cpuUsage()
  return (user + system) / 1000
}

test('random bytes never make decodeMessage throw', () => {
  let slowest = 0
  fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
    const t = cpuMs()
    decodeChecked(bytes)
    slowest = Math.max(slowest, cpuMs() - t)
  }), { numRuns: 4000 })
  assert.ok(slowest < 250, `slowest decode took ${slowest} ms of CPU`)
})

test('random frames with plausible headers never throw, and whatever decodes is a valid frame', () => {
  fc.assert(fc.property(fc.array(plausibleFrame, { minLength: 1, maxLength: 6 }), (frames) => {
    assertReencodable(decodeChecked(Buffer.concat(frames)))
  }), { numRuns: 1500 })
})

test('random valid frames round-trip', () => {
  fc.assert(fc.property(messageArb, (frames) => {
    assert.deepEqual(decodeMessage(encodeMessage(frames), { maxFrameBytes: 300 }), { frames })
  }), { numRuns: 800 })
})

const mutation = fc.oneof(
  fc.record({ flip: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ cut: fc.nat() }),
  fc.record({ insert: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  fc.record({ remove: fc.nat(), count: fc.integer({ min: 1, max: 8 }) })
)

function mutate (msg: Buffer, m: typeof mutation extends fc.Arbitrary<infer T> ? T : never): Buffer {
  if ('flip' in m) {
    const out = Buffer.from(msg)
    out[m.flip % out.byteLength] ^= 1 << m.bit
    return out
  }
  if ('cut' in m) return msg.subarray(0, m.cut % msg.byteLength)
  if ('insert' in m) {
    const at = m.insert % (msg.byteLength + 1)
    return Buffer.concat([msg.subarray(0, at), m.bytes, msg.subarray(at)])
  }
  const at = m.remove % msg.byteLength
  return Buffer.concat([msg.subarray(0, at), msg.subarray(at + m.count)])
}

test('mutations of valid messages (bit flips, truncation, insertion, deletion) never throw', () => {
  const fixtureMessages = valid.map((c) => encodeMessage(c.frames)).filter((m) => m.byteLength < 20_000)
  const source = fc.oneof(fc.constantFrom(...fixtureMessages), messageArb.map((frames) => encodeMessage(frames)))
  fc.assert(fc.property(source, fc.array(mutation, { minLength: 1, maxLength: 4 }), (msg, mutations) => {
    let bytes = msg
    for (const m of mutations) bytes = mutate(bytes, m)
    assertReencodable(decodeChecked(bytes))
  }), { numRuns: 2000 })
})

/** Inputs whose headers claim far more than they carry. */
function hugeClaims (): Buffer[] {
  const claim = (...b: number[]): Buffer => Buffer.from(b)
  const heads = [
    claim(0xdf, 0xff, 0xff, 0xff, 0xff, 0xa1, 0x78),
    claim(0x81, 0xa1, 0x78, 0xdd, 0xff, 0xff, 0xff, 0xff, 0x01),
    claim(0x81, 0xa7, ...Buffer.from('headers'), 0xdc, 0xff, 0xff, 0xc0),
    claim(0x81, 0xa3, ...Buffer.from('url'), 0xdb, 0xff, 0xff, 0xff, 0xff, 0x61),
    claim(0x81, 0xa1, 0x78, 0xc6, 0xff, 0xff, 0xff, 0xff, 0x00),
    Buffer.alloc(100_000, 0x91)
  ]
  const out = heads.flatMap((h) => [rawFrame('hello', 0, h), rawFrame('request', 1, h)])
  const length = Buffer.alloc(4)
  length.writeUInt32BE(0xffffffff)
  out.push(Buffer.concat([rawFrame('data', 1).subarray(0, 6), length, Buffer.alloc(32)]))
  out.push(Buffer.concat([rawFrame('request', 1).subarray(0, 6), length, Buffer.alloc(32)]))
  return out
}

function forcedGc (): (() => void) | undefined {
  v8.setFlagsFromString('--expose-gc')
  const gc: unknown = vm.runInNewContext('typeof gc === "function" ? gc : undefined')
  return typeof gc === 'function' ? gc as () => void : undefined
}

const memory = (): number => { const m = process.memoryUsage(); return m.heapUsed + m.arrayBuffers }

test('inputs claiming huge containers or strings fail fast without allocating for the claim', (t) => {
  const gc = forcedGc()
  if (gc === undefined) { t.skip('no way to force a garbage collection here'); return }
  const inputs = hugeClaims()
  for (const input of inputs) {
    for (let i = 0; i < 2; i++) {
      gc()
      const before = memory()
      const t0 = cpuMs()
      const result = decodeMessage(input, DECODE_LIMITS)
      const ms = cpuMs() - t0
      const grown = memory() - before
      assert.equal(result.error?.code, 'PROTOCOL_ERROR')
      assert.ok(grown < 1024 * 1024, `one decode allocated ${grown} bytes`)
      assert.ok(ms < 100, `one decode took ${ms} ms of CPU`)
    }
  }
  gc()
  const before = memory()
  const t0 = cpuMs()
  for (let i = 0; i < 3000; i++) decodeMessage(inputs[i % inputs.length], DECODE_LIMITS)
  const elapsed = cpuMs() - t0
  gc()
  const grown = memory() - before
  assert.ok(grown < 8 * 1024 * 1024, `3000 decodes left ${grown} bytes behind`)
  assert.ok(elapsed < 3000, `3000 decodes took ${elapsed} ms of CPU`)
})
