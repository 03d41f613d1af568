import { test } from 'node:test'
import assert from 'node:assert/strict'
import { decodeMessage, encodeFrame, encodeMessage } from '../../protocol/codec.js'
import { HEADER_BYTES, type Frame } from '../../protocol/frames.js'
import { DECODE_LIMITS, HEAD_STREAM, headFrame, malformed, msgpack, rawFrame, valid } from './fixtures.js'

test('round-trips every valid fixture, frame by frame and as one message', () => {
  for (const { name, frames } of valid) {
    const one = decodeMessage(encodeMessage(frames), DECODE_LIMITS)
    assert.equal(one.error, undefined, name)
    assert.deepEqual(one.frames, frames, name)
    for (const frame of frames) {
      assert.deepEqual(decodeMessage(encodeMessage([frame]), DECODE_LIMITS), { frames: [frame] }, name)
    }
  }
})

test('the valid fixtures cover every frame type', () => {
  const types = new Set(valid.flatMap((c) => c.frames.map((f) => f.type)))
  assert.deepEqual([...types].sort(), ['data', 'error', 'goaway', 'hello', 'ping', 'pong', 'request', 'reset', 'response', 'welcome', 'window'])
})

test('encodeMessage of many frames decodes back in order', () => {
  const frames: Frame[] = []
  for (let i = 0; i < 300; i++) {
    const stream = 2 * i + 1
    frames.push(i % 3 === 0
      ? { type: 'data', stream, end: i % 2 === 0, chunk: Buffer.alloc(i, i) }
      : i % 3 === 1
        ? { type: 'window', stream, increment: i + 1 }
        : { type: 'reset', stream, code: 'CANCELLED', message: `m${i}` })
  }
  assert.deepEqual(decodeMessage(encodeMessage(frames), DECODE_LIMITS), { frames })
})

test('encodeFrame writes the documented 10-byte header', () => {
  const [head, body] = encodeFrame({ type: 'data', stream: 0x01020304, end: true, chunk: Buffer.from('abc') })
  assert.deepEqual([...head], [0x05, 0x01, 0x01, 0x02, 0x03, 0x04, 0, 0, 0, 3])
  assert.equal(Buffer.from(body).toString(), 'abc')
  assert.deepEqual([...encodeMessage([{ type: 'window', stream: 1, increment: 258 }])], [0x07, 0, 0, 0, 0, 1, 0, 0, 0, 4, 0, 0, 1, 2])
  const reset = encodeMessage([{ type: 'reset', stream: 9, code: 'CANCELLED', message: '' }])
  assert.equal(reset.readUInt32BE(6), reset.byteLength - HEADER_BYTES)
  assert.equal(reset[1], 0, 'RESET carries no END flag')
})

// The same bytes as the worked GET in PROTOCOL.md §16: if this changes, the document must too.
const GOLDEN_GET: ReadonlyArray<readonly [Frame, string]> = [
  [{ type: 'request', stream: 1, end: true, method: 'GET', url: 'http://10.0.0.5:8080/health', headers: ['accept', 'text/plain'], timeoutMs: 0, followRedirects: false },
    '03 01 00000001 00000052 84 a6 6d6574686f64 a3 474554 a3 75726c bb 687474703a2f2f31302e302e302e353a383038302f6865616c7468 a7 68656164657273 92 a6 616363657074 aa 746578742f706c61696e a9 74696d656f75744d73 00'],
  [{ type: 'response', stream: 1, end: false, status: 200, headers: ['content-type', 'text/plain'] },
    '04 00 00000001 0000002b 82 a6 737461747573 cc c8 a7 68656164657273 92 ac 636f6e74656e742d74797065 aa 746578742f706c61696e'],
  [{ type: 'data', stream: 1, end: false, chunk: Buffer.from('ok') }, '05 00 00000001 00000002 6f6b'],
  [{ type: 'data', stream: 1, end: true, chunk: Buffer.alloc(0) }, '05 01 00000001 00000000'],
  [{ type: 'window', stream: 3, increment: 262_144 }, '07 00 00000003 00000004 00040000'],
  [{ type: 'ping', data: Buffer.from('0001020304050607', 'hex') }, '08 00 00000000 00000008 0001020304050607']
]

test('the worked example of PROTOCOL.md decodes from its documented bytes', () => {
  for (const [frame, hex] of GOLDEN_GET) {
    const bytes = Buffer.from(hex.replace(/ /g, ''), 'hex')
    assert.deepEqual(decodeMessage(bytes, DECODE_LIMITS), { frames: [frame] }, frame.type)
    // The cloud leaves followRedirects out when it is not set; the decoder fills in false.
    const sent: Frame = frame.type === 'request' ? { ...frame, followRedirects: undefined } : frame
    assert.deepEqual(encodeMessage([sent]), bytes, frame.type)
  }
})

test('every malformed fixture is a PROTOCOL_ERROR naming the right stream', () => {
  assert.ok(malformed.length > 200)
  for (const c of malformed) {
    const result = decodeMessage(c.bytes, DECODE_LIMITS)
    assert.equal(result.error?.code, 'PROTOCOL_ERROR', c.name)
    assert.equal(result.error?.stream, c.stream, c.name)
    assert.equal(result.frames.filter((f) => f.type !== 'invalid').length, c.before ?? 0, c.name)
    // Broken framing stops decoding; a bad frame inside good framing is reported in place.
    const invalid = result.frames.filter((f) => f.type === 'invalid')
    assert.equal(invalid.length, result.error?.fatal === true ? 0 : 1, c.name)
  }
})

test('a frame with invalid content costs only itself: the frames after it are decoded', () => {
  const good = encodeMessage([{ type: 'window', stream: 1, increment: 1 }])
  const result = decodeMessage(Buffer.concat([good, headFrame('response', { status: 42 }), good]), DECODE_LIMITS)
  assert.equal(result.frames.length, 3)
  assert.deepEqual(result.frames[0], { type: 'window', stream: 1, increment: 1 })
  assert.deepEqual({ ...result.frames[1], message: undefined }, { type: 'invalid', of: 'response', stream: HEAD_STREAM.response, message: undefined })
  assert.deepEqual(result.frames[2], { type: 'window', stream: 1, increment: 1 })
  assert.equal(result.error?.stream, HEAD_STREAM.response)
  assert.equal(result.error?.fatal, false)
})

test('broken framing stops decoding and is fatal', () => {
  const good = encodeMessage([{ type: 'window', stream: 1, increment: 1 }])
  const result = decodeMessage(Buffer.concat([good, good.subarray(0, 12)]), DECODE_LIMITS)
  assert.equal(result.frames.length, 1)
  assert.equal(result.error?.fatal, true)
})

test('an unknown frame type decodes as an unknown frame, not an error', () => {
  const after = { type: 'window', stream: 3, increment: 7 } as const
  const msg = Buffer.concat([rawFrame(0x0c, 0, Buffer.from('x')), rawFrame(0xff, 5), rawFrame(0x00, 1, Buffer.alloc(100)), encodeMessage([after])])
  assert.deepEqual(decodeMessage(msg, DECODE_LIMITS), {
    frames: [{ type: 'unknown', typeId: 0x0c, stream: 0 }, { type: 'unknown', typeId: 0xff, stream: 5 }, { type: 'unknown', typeId: 0, stream: 1 }, after]
  })
})

test('reserved flag bits are ignored; END is bit 0', () => {
  const chunk = Buffer.from('z')
  assert.deepEqual(decodeMessage(rawFrame('data', 1, chunk, 0xfe), DECODE_LIMITS).frames, [{ type: 'data', stream: 1, end: false, chunk }])
  assert.deepEqual(decodeMessage(rawFrame('data', 1, chunk, 0xff), DECODE_LIMITS).frames, [{ type: 'data', stream: 1, end: true, chunk }])
  const reset = decodeMessage(rawFrame('reset', 1, msgpack({ code: 'CANCELLED', message: '' }), 0xff), DECODE_LIMITS).frames
  assert.deepEqual(reset, [{ type: 'reset', stream: 1, code: 'CANCELLED', message: '' }])
  const ping = decodeMessage(rawFrame('ping', 0, Buffer.alloc(8), 0xff), DECODE_LIMITS).frames
  assert.deepEqual(ping, [{ type: 'ping', data: Buffer.alloc(8) }])
})

test('decodes a message that is a view into a larger buffer', () => {
  const frames: Frame[] = [{ type: 'window', stream: 1, increment: 99 }, { type: 'data', stream: 1, end: true, chunk: Buffer.from('ok') }]
  const inner = encodeMessage(frames)
  const outer = new Uint8Array(inner.byteLength + 7).fill(0xee)
  outer.set(inner, 3)
  const result = decodeMessage(outer.subarray(3, 3 + inner.byteLength), DECODE_LIMITS)
  assert.equal(result.error, undefined)
  assert.deepEqual(result.frames.map((f) => f.type === 'data' ? Buffer.from(f.chunk).toString() : f), [frames[0], 'ok'])
})

const DEFAULT_TEST_LIMITS = { maxMessageBytes: 2048, maxFrameBytes: 1024, initialWindow: 4096, maxStreams: 8, maxBodyBytes: 1 }

test('unknown extra fields are ignored, even nested up to the depth limit', () => {
  const extra = { future: { a: [[[[1]]]] }, alsoNew: 'x', 7: true }
  const decoded = decodeMessage(headFrame('response', extra), DECODE_LIMITS)
  assert.deepEqual(decoded, { frames: [{ type: 'response', stream: 3, end: false, status: 200, headers: ['content-type', 'text/plain'] }] })
  const hello = decodeMessage(headFrame('hello', { limits: { ...DEFAULT_TEST_LIMITS, burst: 5 } }), DECODE_LIMITS).frames[0]
  assert.deepEqual(hello?.type === 'hello' ? hello.limits : undefined, DEFAULT_TEST_LIMITS)
})

test('optional fields take their defaults when absent or nil', () => {
  const request = decodeMessage(headFrame('request', { headers: undefined, timeoutMs: undefined, credential: null, followRedirects: null }), DECODE_LIMITS)
  assert.deepEqual(request.frames, [{ type: 'request', stream: 1, end: false, method: 'GET', url: 'http://10.0.0.5/x', headers: [], timeoutMs: 0, followRedirects: false }])
  const hello = decodeMessage(headFrame('hello', { agent: undefined, capabilities: undefined }), DECODE_LIMITS).frames[0]
  assert.deepEqual(hello?.type === 'hello' ? [hello.agent, hello.capabilities] : undefined, ['', []])
  const goaway = decodeMessage(headFrame('goaway', { message: undefined }), DECODE_LIMITS)
  assert.deepEqual(goaway.frames, [{ type: 'goaway', code: 'DRAINING', message: '' }])
})

test('an unknown or missing error code becomes INTERNAL_ERROR', () => {
  for (const code of ['NEW_FANCY_CODE', undefined, 5, 'protocol_error', 'toString']) {
    const { frames } = decodeMessage(Buffer.concat([headFrame('reset', { code }), headFrame('goaway', { code }), headFrame('error', { code })]), DECODE_LIMITS)
    assert.deepEqual(frames.map((f) => 'code' in f ? f.code : ''), ['INTERNAL_ERROR', 'INTERNAL_ERROR', 'INTERNAL_ERROR'], String(code))
  }
})

test('numbers in any MessagePack encoding of an in-range integer are accepted', () => {
  // 200 as uint8, uint16, uint32, float32 and float64
  for (const status of [[0xcc, 200], [0xcd, 0, 200], [0xce, 0, 0, 0, 200], [0xca, 0x43, 0x48, 0, 0], [0xcb, 0x40, 0x69, 0, 0, 0, 0, 0, 0]]) {
    const head = Buffer.from([0x82, 0xa6, ...Buffer.from('status'), ...status, 0xa7, ...Buffer.from('headers'), 0x90])
    assert.deepEqual(decodeMessage(rawFrame('response', 1, head), DECODE_LIMITS).frames, [{ type: 'response', stream: 1, end: false, status: 200, headers: [] }])
  }
})

// msgpackr decodes every uint64/int64 (0xcf/0xd3) as a BigInt, which the integer check then refuses;
// MessagePack decoders must accept any encoding of a value, and encoders in other languages
// (Go, Rust, Java) do write 64-bit forms for 64-bit fields.
test('an in-range integer written as uint64 or int64 is accepted', () => {
  for (const status of [[0xcf, 0, 0, 0, 0, 0, 0, 0, 200], [0xd3, 0, 0, 0, 0, 0, 0, 0, 200]]) {
    const head = Buffer.from([0x82, 0xa6, ...Buffer.from('status'), ...status, 0xa7, ...Buffer.from('headers'), 0x90])
    assert.deepEqual(decodeMessage(rawFrame('response', 1, head), DECODE_LIMITS).frames, [{ type: 'response', stream: 1, end: false, status: 200, headers: [] }])
  }
})

test('__proto__, constructor and prototype keys never reach Object.prototype or the frame', () => {
  const evil = {
    ['__proto__']: { polluted: 'yes', status: 201 },
    constructor: { prototype: { polluted: 'yes' } },
    prototype: { polluted: 'yes' }
  }
  // A computed or spread __proto__ key is an own property, so msgpackr writes it as a map key.
  const head = msgpack({ status: 200, headers: ['__proto__', 'x', 'constructor', 'y'], ...evil })
  assert.ok(head.includes(Buffer.from('__proto__')), 'the fixture really carries a __proto__ key')
  for (const type of ['response', 'hello', 'request', 'reset'] as const) {
    const bytes = type === 'response' ? rawFrame('response', 1, head) : headFrame(type, { ...evil, limits: { maxMessageBytes: 2048, maxFrameBytes: 1024, initialWindow: 1, maxStreams: 1, maxBodyBytes: 1, ...evil } })
    const { frames, error } = decodeMessage(bytes, DECODE_LIMITS)
    assert.equal(error, undefined, type)
    const frame = frames[0] as unknown as Record<string, unknown>
    assert.equal(Object.getPrototypeOf(frame), Object.prototype)
    for (const key of ['__proto__', '__proto_', 'constructor', 'prototype', 'polluted']) assert.equal(Object.hasOwn(frame, key), false, `${type} ${key}`)
  }
  const response = decodeMessage(rawFrame('response', 1, head), DECODE_LIMITS).frames[0]
  assert.deepEqual(response, { type: 'response', stream: 1, end: false, status: 200, headers: ['__proto__', 'x', 'constructor', 'y'] })
  assert.equal(({} as Record<string, unknown>).polluted, undefined)
  assert.equal(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted'), false)
})

test('DATA chunks are views of the message, not copies', () => {
  const msg = encodeMessage([{ type: 'data', stream: 1, end: false, chunk: Buffer.from('abc') }])
  const frame = decodeMessage(msg, DECODE_LIMITS).frames[0]
  assert.ok(frame?.type === 'data')
  assert.equal(frame.chunk.buffer, msg.buffer)
})

// encodeFrame allocates PING/PONG with Buffer.allocUnsafe and copies at most 8 bytes of `data`:
// shorter data leaves stale process memory in the rest of the payload.
// Either fix passes: refusing such a frame (throwing) or padding it with zeros.
test('a PING with fewer than 8 bytes of data never sends stale memory', () => {
  for (let i = 0; i < 200; i++) {
    Buffer.allocUnsafe(64).fill(0xa5)
    let encoded: Buffer
    try {
      encoded = encodeMessage([{ type: 'ping', data: Buffer.from([1, 2]) }])
    } catch (err) {
      assert.ok(err instanceof Error)
      continue
    }
    assert.deepEqual([...encoded.subarray(HEADER_BYTES)], [1, 2, 0, 0, 0, 0, 0, 0])
  }
})
