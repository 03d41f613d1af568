/**
 * Wire fixtures shared by the protocol tests: `valid` messages (decode(encode(x)) must give x back)
 * and `malformed` byte strings, each with the stream the PROTOCOL_ERROR must name. Raw bytes are
 * built here by hand (and heads with msgpackr directly) so that they can be wrong in ways the
 * encoder never is.
 */
import { Packr } from 'msgpackr'
import { ERROR_CODES } from '../../protocol/errors.js'
import { FRAME_TYPE, HEADER_BYTES, type Frame, type FrameTypeName } from '../../protocol/frames.js'
import type { HeadType } from '../../protocol/validate.js'
import { DEFAULT_LIMITS, HEAD_LIMITS } from '../../protocol/version.js'

/** What the tests decode with: DATA payloads up to 16 KiB. */
export const DECODE_LIMITS = Object.freeze({ maxFrameBytes: 16 * 1024 })

const rawPackr = new Packr({ useRecords: false, structuredClone: false })

/** MessagePack bytes of `value`, written by msgpackr without records or extensions. */
export function msgpack (value: unknown): Buffer {
  return Buffer.from(rawPackr.pack(value))
}

/** One frame, byte for byte: the 10-byte header (length = payload size) and the payload. */
export function rawFrame (type: FrameTypeName | number, stream: number, payload: Uint8Array = Buffer.alloc(0), flags = 0): Buffer {
  const head = Buffer.alloc(HEADER_BYTES)
  head[0] = typeof type === 'number' ? type : FRAME_TYPE[type]
  head[1] = flags
  head.writeUInt32BE(stream, 2)
  head.writeUInt32BE(payload.byteLength, 6)
  return Buffer.concat([head, payload])
}

const bytes = (...values: number[]): Buffer => Buffer.from(values)
const fill = (n: number, byte: number): Buffer => Buffer.alloc(n, byte)

/** The stream each head type travels on in the malformed fixtures. */
export const HEAD_STREAM: Readonly<Record<HeadType, number>> = Object.freeze({
  hello: 0, welcome: 0, request: 1, response: 3, reset: 5, goaway: 0, error: 0
})

/** A well-formed head of each type, as a peer would write it. */
export const GOOD_HEAD: Readonly<Record<HeadType, Readonly<Record<string, unknown>>>> = Object.freeze({
  hello: { versions: [1], name: 'bridge-1', agent: '0.1.0', capabilities: [], limits: { ...DEFAULT_LIMITS } },
  welcome: { version: 1, session: 's-1', heartbeatMs: 10_000, limits: { ...DEFAULT_LIMITS } },
  request: { method: 'GET', url: 'http://10.0.0.5/x', headers: ['accept', '*/*'], timeoutMs: 0 },
  response: { status: 200, headers: ['content-type', 'text/plain'] },
  reset: { code: 'CANCELLED', message: 'gone' },
  goaway: { code: 'DRAINING', message: '' },
  error: { code: 'PROTOCOL_ERROR', message: 'unknown frame type 12' }
})

export const HEAD_TYPES = Object.keys(GOOD_HEAD) as HeadType[]

/** A frame of `type` whose head is `head` with `changes` applied (an `undefined` change removes the field). */
export function headFrame (type: HeadType, changes: Readonly<Record<string, unknown>> = {}, stream = HEAD_STREAM[type]): Buffer {
  const head: Record<string, unknown> = { ...GOOD_HEAD[type], ...changes }
  for (const [key, value] of Object.entries(changes)) if (value === undefined) delete head[key]
  return rawFrame(type, stream, msgpack(head))
}

export interface ValidCase { readonly name: string, readonly frames: readonly Frame[] }

const ping = (byte: number): Buffer => fill(8, byte)
const hugeLimits = {
  maxMessageBytes: Number.MAX_SAFE_INTEGER,
  maxFrameBytes: Number.MAX_SAFE_INTEGER - 10,
  initialWindow: 0x7fffffff,
  maxStreams: 0x7fffffff,
  maxBodyBytes: Number.MAX_SAFE_INTEGER
}
const tinyLimits = { maxMessageBytes: 1034, maxFrameBytes: 1024, initialWindow: 0, maxStreams: 0, maxBodyBytes: 0 }
const manyHeaders = Array.from({ length: HEAD_LIMITS.maxHeaders }, (_, i) => [`x-h${i}`, `v${i}`]).flat()
const longUrl = 'http://10.0.0.5/' + 'a'.repeat(HEAD_LIMITS.maxUrlLength - 16)

/** Messages that must round-trip unchanged; at least one per frame type, with edge values. */
export const valid: readonly ValidCase[] = [
  { name: 'HELLO, one version, no capabilities', frames: [{ type: 'hello', versions: [1], name: 'b', agent: '', capabilities: [], limits: DEFAULT_LIMITS }] },
  { name: 'HELLO, longest fields and largest limits', frames: [{ type: 'hello', versions: [3, 1, 9999], name: 'n'.repeat(128), agent: 'a'.repeat(64), capabilities: ['jobs', 'c'.repeat(64)], limits: hugeLimits }] },
  { name: 'HELLO, smallest limits', frames: [{ type: 'hello', versions: Array.from({ length: 32 }, (_, i) => i + 1), name: 'b', agent: '1', capabilities: [], limits: tinyLimits }] },
  { name: 'WELCOME', frames: [{ type: 'welcome', version: 1, session: '3b0c9a8e-1', heartbeatMs: 10_000, limits: DEFAULT_LIMITS }] },
  { name: 'WELCOME, edge values', frames: [{ type: 'welcome', version: 9999, session: '', heartbeatMs: 0xffffffff, limits: tinyLimits }] },
  { name: 'REQUEST, GET without body or headers', frames: [{ type: 'request', stream: 1, end: true, method: 'GET', url: 'http://10.0.0.5/', headers: [], timeoutMs: 0, followRedirects: false }] },
  {
    name: 'REQUEST, POST with every field and maximal values',
    frames: [{ type: 'request', stream: 0xffffffff, end: false, method: 'M-SEARCH', url: longUrl, headers: manyHeaders, timeoutMs: 0x7fffffff, credential: 'c'.repeat(64), followRedirects: true }]
  },
  { name: 'REQUEST, empty header value and token punctuation', frames: [{ type: 'request', stream: 7, end: true, method: "!#$%&'*+-.^_`|~", url: 'https://[fd00::1]:8443/p?q=1', headers: ["!#$%&'*+-.^_`|~x", '', 'x', 'é ✓'], timeoutMs: 1, credential: '', followRedirects: false }] },
  { name: 'RESPONSE 100 with END', frames: [{ type: 'response', stream: 1, end: true, status: 100, headers: [] }] },
  { name: 'RESPONSE 999 with headers', frames: [{ type: 'response', stream: 3, end: false, status: 999, headers: ['set-cookie', 'a=1', 'set-cookie', 'b=2'] }] },
  { name: 'DATA with bytes', frames: [{ type: 'data', stream: 1, end: false, chunk: bytes(0, 1, 2, 0xff) }] },
  { name: 'DATA of zero bytes with END', frames: [{ type: 'data', stream: 1, end: true, chunk: Buffer.alloc(0) }] },
  { name: 'DATA of exactly maxFrameBytes with END', frames: [{ type: 'data', stream: 9, end: true, chunk: fill(DECODE_LIMITS.maxFrameBytes, 0xab) }] },
  { name: 'RESET with every error code', frames: ERROR_CODES.map((code, i) => ({ type: 'reset' as const, stream: 2 * i + 1, code, message: code === 'CANCELLED' ? '' : 'm'.repeat(4096) })) },
  { name: 'WINDOW, smallest and largest increments', frames: [{ type: 'window', stream: 1, increment: 1 }, { type: 'window', stream: 0xffffffff, increment: 0x7fffffff }] },
  { name: 'PING and PONG', frames: [{ type: 'ping', data: ping(0) }, { type: 'pong', data: ping(0xff) }] },
  { name: 'GOAWAY DRAINING and SHUTDOWN', frames: [{ type: 'goaway', code: 'DRAINING', message: '' }, { type: 'goaway', code: 'SHUTDOWN', message: 'bye' }] },
  { name: 'ERROR', frames: [{ type: 'error', code: 'PROTOCOL_ERROR', message: 'unknown frame type 12' }] },
  {
    name: 'a whole small GET in one message',
    frames: [
      { type: 'request', stream: 1, end: true, method: 'GET', url: 'http://10.0.0.5/', headers: ['accept', '*/*'], timeoutMs: 5000, followRedirects: false },
      { type: 'response', stream: 1, end: false, status: 200, headers: ['content-length', '5'] },
      { type: 'data', stream: 1, end: false, chunk: Buffer.from('hello') },
      { type: 'window', stream: 1, increment: 5 },
      { type: 'data', stream: 1, end: true, chunk: Buffer.alloc(0) }
    ]
  }
]

export interface MalformedCase {
  readonly name: string
  readonly bytes: Buffer
  /** The stream the PROTOCOL_ERROR names. */
  readonly stream: number
  /** Frames decoded before the bad one. @default 0 */
  readonly before?: number
}

const CONNECTION_TYPES: readonly FrameTypeName[] = ['hello', 'welcome', 'ping', 'pong', 'goaway', 'error']
const STREAM_TYPES: readonly FrameTypeName[] = ['request', 'response', 'data', 'reset', 'window']
const okPayload = (type: FrameTypeName): Buffer =>
  type === 'ping' || type === 'pong' ? ping(1) : type === 'window' ? bytes(0, 0, 0, 1) : type === 'data' ? bytes(1) : msgpack(GOOD_HEAD[type as HeadType])
const goodPing = rawFrame('ping', 0, ping(1))

/** MessagePack heads that are not one plain, bounded map. */
const BAD_MSGPACK: ReadonlyArray<readonly [string, Buffer]> = [
  ['an array head', msgpack([1, 2])],
  ['a string head', msgpack('GET')],
  ['a nil head', bytes(0xc0)],
  ['an integer head', bytes(0x07)],
  ['a boolean head', bytes(0xc3)],
  ['a binary head', bytes(0xc4, 1, 0x80)],
  ['an empty head', Buffer.alloc(0)],
  ['a msgpackr record', bytes(0xd4, 0x72, 0x40, 0x92, 0xa1, 0x61, 0xa1, 0x62, 0x01, 0x02)],
  ['a timestamp (Date) extension', bytes(0xd6, 0xff, 0, 0, 0, 0)],
  ['msgpackr undefined (fixext1 0xd4 0x00)', bytes(0x81, 0xa1, 0x78, 0xd4, 0x00, 0x00)],
  ['an ext8 value', bytes(0x81, 0xa1, 0x78, 0xc7, 1, 1, 0)],
  ['an ext16 value', bytes(0x81, 0xa1, 0x78, 0xc8, 0, 1, 1, 0)],
  ['an ext32 value', bytes(0x81, 0xa1, 0x78, 0xc9, 0, 0, 0, 1, 1, 0)],
  ['a fixext16 value', bytes(0x81, 0xa1, 0x78, 0xd8, 1, ...fill(16, 0))],
  ['the reserved byte 0xc1', bytes(0x81, 0xa1, 0x78, 0xc1)],
  ['trailing bytes after the head', Buffer.concat([msgpack({ status: 200 }), bytes(0xc0)])],
  ['a truncated map', bytes(0x82, 0xa1, 0x78, 0x01)],
  ['a truncated string', bytes(0x81, 0xa1, 0x78, 0xa5, 0x61)],
  ['a map key that is an array', bytes(0x81, 0x90, 0x01)],
  ['nesting one deeper than the limit', msgpack({ x: [[[[[[1]]]]]] })],
  ['a map32 claiming 2^32-1 entries', bytes(0xdf, 0xff, 0xff, 0xff, 0xff, 0xa1, 0x78, 0x01)],
  ['an array32 claiming 2^32-1 elements', bytes(0x81, 0xa1, 0x78, 0xdd, 0xff, 0xff, 0xff, 0xff, 0x01)],
  ['a str32 claiming 4 GiB', bytes(0x81, 0xa1, 0x78, 0xdb, 0xff, 0xff, 0xff, 0xff, 0x61)],
  ['a bin32 claiming 4 GiB', bytes(0x81, 0xa1, 0x78, 0xc6, 0xff, 0xff, 0xff, 0xff, 0x61)],
  ['a head over maxHeadBytes', msgpack({ pad: 'p'.repeat(HEAD_LIMITS.maxHeadBytes) })]
]

/** Per head type: changes that make an otherwise good head invalid. */
const BAD_FIELDS: ReadonlyArray<readonly [HeadType, string, Readonly<Record<string, unknown>>]> = [
  ['hello', 'versions missing', { versions: undefined }],
  ['hello', 'versions empty', { versions: [] }],
  ['hello', 'versions not an array', { versions: 1 }],
  ['hello', 'version 0', { versions: [0] }],
  ['hello', 'version 10000', { versions: [10_000] }],
  ['hello', 'version 1.5', { versions: [1.5] }],
  ['hello', '33 versions', { versions: Array.from({ length: 33 }, (_, i) => i + 1) }],
  ['hello', 'name missing', { name: undefined }],
  ['hello', 'name empty', { name: '' }],
  ['hello', 'name of 129 characters', { name: 'n'.repeat(129) }],
  ['hello', 'agent a number', { agent: 1 }],
  ['hello', 'capabilities a string', { capabilities: 'jobs' }],
  ['hello', 'a capability not a string', { capabilities: [1] }],
  ['hello', '65 capabilities', { capabilities: Array.from({ length: 65 }, () => 'c') }],
  ['hello', 'limits missing', { limits: undefined }],
  ['hello', 'limits an array', { limits: [1, 2, 3, 4, 5] }],
  ['hello', 'limits.maxMessageBytes missing', { limits: { maxFrameBytes: 1024, initialWindow: 1, maxStreams: 1, maxBodyBytes: 1 } }],
  ['hello', 'limits.maxFrameBytes under 1024', { limits: { ...tinyLimits, maxFrameBytes: 1023 } }],
  ['hello', 'limits.maxFrameBytes not fitting maxMessageBytes', { limits: { ...tinyLimits, maxMessageBytes: 1033 } }],
  ['hello', 'limits.initialWindow 2^31', { limits: { ...DEFAULT_LIMITS, initialWindow: 0x80000000 } }],
  ['hello', 'limits.maxStreams negative', { limits: { ...DEFAULT_LIMITS, maxStreams: -1 } }],
  ['hello', 'limits.maxBodyBytes fractional', { limits: { ...DEFAULT_LIMITS, maxBodyBytes: 1.5 } }],
  ['hello', 'limits.maxFrameBytes a string', { limits: { ...DEFAULT_LIMITS, maxFrameBytes: '1024' } }],
  ['welcome', 'version missing', { version: undefined }],
  ['welcome', 'version 10000', { version: 10_000 }],
  ['welcome', 'session missing', { session: undefined }],
  ['welcome', 'session of 129 characters', { session: 's'.repeat(129) }],
  ['welcome', 'heartbeatMs negative', { heartbeatMs: -1 }],
  ['welcome', 'heartbeatMs over 2^32-1', { heartbeatMs: 2 ** 32 }],
  ['welcome', 'limits missing', { limits: undefined }],
  ['request', 'method missing', { method: undefined }],
  ['request', 'method empty', { method: '' }],
  ['request', 'method not a token', { method: 'GE T' }],
  ['request', 'method of 33 characters', { method: 'M'.repeat(33) }],
  ['request', 'url missing', { url: undefined }],
  ['request', 'url a number', { url: 80 }],
  ['request', 'url over maxUrlLength', { url: 'u'.repeat(HEAD_LIMITS.maxUrlLength + 1) }],
  ['request', 'an odd header list', { headers: ['accept'] }],
  ['request', 'headers as a map', { headers: { accept: '*/*' } }],
  ['request', 'a header value not a string', { headers: ['content-length', 5] }],
  ['request', 'a header name with a space', { headers: ['bad name', 'v'] }],
  ['request', 'a header name with a colon', { headers: ['host:', 'v'] }],
  ['request', 'an empty header name', { headers: ['', 'v'] }],
  ['request', 'more than maxHeaders headers', { headers: [...manyHeaders, 'x', 'y'] }],
  ['request', 'timeoutMs negative', { timeoutMs: -1 }],
  ['request', 'timeoutMs 2^31', { timeoutMs: 0x80000000 }],
  ['request', 'timeoutMs a string', { timeoutMs: '5' }],
  ['request', 'followRedirects a string', { followRedirects: 'yes' }],
  ['request', 'credential a number', { credential: 1 }],
  ['request', 'credential of 65 characters', { credential: 'c'.repeat(65) }],
  ['response', 'status missing', { status: undefined }],
  ['response', 'status 99', { status: 99 }],
  ['response', 'status 1000', { status: 1000 }],
  ['response', 'status a string', { status: '200' }],
  ['response', 'status fractional', { status: 200.5 }],
  ['response', 'headers a string', { headers: 'a: b' }],
  ['reset', 'message a number', { message: 1 }],
  ['reset', 'message of 4097 characters', { message: 'm'.repeat(4097) }],
  ['goaway', 'message an array', { message: ['m'] }],
  ['error', 'message a boolean', { message: true }]
]

function buildMalformed (): MalformedCase[] {
  const out: MalformedCase[] = [
    { name: 'an empty message', bytes: Buffer.alloc(0), stream: 0 },
    { name: 'a 9-byte header', bytes: rawFrame('data', 1).subarray(0, 9), stream: 0 },
    { name: 'a truncated header after a good frame', bytes: Buffer.concat([goodPing, bytes(0x05, 0, 0)]), stream: 0, before: 1 },
    { name: 'DATA longer than the message', bytes: rawFrame('data', 3, fill(20, 1)).subarray(0, 25), stream: 3 },
    { name: 'REQUEST longer than the message, after a good frame', bytes: Buffer.concat([goodPing, headFrame('request').subarray(0, 20)]), stream: 1, before: 1 },
    { name: 'a length of 2^32-1', bytes: Buffer.concat([rawFrame('data', 7).subarray(0, 6), bytes(0xff, 0xff, 0xff, 0xff), bytes(1, 2, 3)]), stream: 7 },
    { name: 'DATA over maxFrameBytes', bytes: rawFrame('data', 1, fill(DECODE_LIMITS.maxFrameBytes + 1, 0)), stream: 1 },
    { name: 'WINDOW of 0 bytes', bytes: rawFrame('window', 1), stream: 1 },
    { name: 'WINDOW of 3 bytes', bytes: rawFrame('window', 1, bytes(0, 0, 1)), stream: 1 },
    { name: 'WINDOW of 5 bytes', bytes: rawFrame('window', 1, bytes(0, 0, 0, 1, 0)), stream: 1 },
    { name: 'WINDOW increment 0', bytes: rawFrame('window', 3, bytes(0, 0, 0, 0)), stream: 3 },
    { name: 'WINDOW increment 2^31', bytes: rawFrame('window', 3, bytes(0x80, 0, 0, 0)), stream: 3 },
    { name: 'WINDOW increment 2^32-1', bytes: rawFrame('window', 3, bytes(0xff, 0xff, 0xff, 0xff)), stream: 3 }
  ]
  for (const type of ['ping', 'pong'] as const) {
    for (const n of [0, 7, 9]) out.push({ name: `${type.toUpperCase()} of ${n} bytes`, bytes: rawFrame(type, 0, fill(n, 1)), stream: 0 })
  }
  for (const type of CONNECTION_TYPES) {
    for (const stream of [1, 0xffffffff]) out.push({ name: `${type.toUpperCase()} on stream ${stream}`, bytes: rawFrame(type, stream, okPayload(type)), stream })
  }
  for (const type of STREAM_TYPES) out.push({ name: `${type.toUpperCase()} on stream 0`, bytes: rawFrame(type, 0, okPayload(type)), stream: 0 })
  for (const type of HEAD_TYPES) {
    for (const [what, payload] of BAD_MSGPACK) {
      out.push({ name: `${type.toUpperCase()}: ${what}`, bytes: rawFrame(type, HEAD_STREAM[type], payload), stream: HEAD_STREAM[type] })
    }
  }
  for (const [type, what, changes] of BAD_FIELDS) {
    out.push({ name: `${type.toUpperCase()}: ${what}`, bytes: headFrame(type, changes), stream: HEAD_STREAM[type] })
  }
  return out
}

/** Messages that must decode to a PROTOCOL_ERROR naming `stream`. */
export const malformed: readonly MalformedCase[] = buildMalformed()
