/**
 * The binary envelope: frames to bytes and back. No I/O; msgpackr enters the code base here.
 * `decodeMessage` never throws: malformed input comes back as a PROTOCOL_ERROR in the result.
 */
import { Packr, Unpackr } from 'msgpackr'
import {
  FLAG_END_STREAM, FRAME_TYPE, HEADER_BYTES, type Frame, type FrameTypeName
} from './frames.js'
import { isJobFrameType, validateJobHead } from './job-frames.js'
import { scanMsgpack } from './msgpack-guard.js'
import { validateHead } from './validate.js'
import { HEAD_LIMITS } from './version.js'

// Records, structured cloning and every extension are off: a head is plain maps, arrays,
// strings, numbers and booleans, decoded afresh from each message. (`skipValues` and
// `int64AsType: 'auto'` are missing from msgpackr's typings, hence the casts.)
// skipValues: undefined fields are left out instead of encoded as an extension the decoder refuses.
const packrOptions = { useRecords: false, structuredClone: false, moreTypes: false, skipValues: [undefined] }
const packr = new Packr(packrOptions as ConstructorParameters<typeof Packr>[0])
// int64AsType 'auto': a 64-bit encoding of a small integer (as Go, Rust or Java encoders may
// write) decodes to a number; only values beyond 2^53 become BigInt, which validation refuses.
const unpackrOptions = { useRecords: false, structuredClone: false, mapsAsObjects: true, int64AsType: 'auto' }
const unpackr = new Unpackr(unpackrOptions as ConstructorParameters<typeof Unpackr>[0])

const TYPE_BY_ID: ReadonlyMap<number, FrameTypeName> = new Map(
  Object.entries(FRAME_TYPE).map(([name, id]) => [id, name as FrameTypeName])
)
const CONNECTION_TYPES: ReadonlySet<FrameTypeName> = new Set(['hello', 'welcome', 'ping', 'pong', 'goaway', 'error',
  'job_offer', 'job_state', 'job_records', 'job_ack', 'job_poll', 'job_poll_end'])

/** A frame of a type this version does not know; answered with an ERROR, never fatal. */
export interface UnknownFrame { readonly type: 'unknown', readonly typeId: number, readonly stream: number }
/**
 * A well-framed frame whose content is invalid (bad head, wrong stream, over a limit). Decoding
 * goes on after it, so one bad frame costs its own stream, not the frames batched behind it.
 */
export interface InvalidFrame { readonly type: 'invalid', readonly of: FrameTypeName, readonly stream: number, readonly message: string }
export type DecodedFrame = Frame | UnknownFrame | InvalidFrame

/**
 * The first problem in a message. `fatal`: the framing itself is broken (nothing after it can be
 * read); otherwise the problem is also in `frames` as an InvalidFrame and decoding went on.
 */
export interface DecodeError { readonly code: 'PROTOCOL_ERROR', readonly message: string, readonly stream: number, readonly fatal: boolean }
export interface DecodeResult { readonly frames: DecodedFrame[], readonly error?: DecodeError }

function header (type: number, flags: number, stream: number, length: number, extra = 0): Buffer {
  const buf = Buffer.allocUnsafe(HEADER_BYTES + extra)
  buf[0] = type
  buf[1] = flags
  buf.writeUInt32BE(stream, 2)
  buf.writeUInt32BE(length, 6)
  return buf
}

function headFrame (type: number, flags: number, stream: number, head: object): Buffer {
  const payload = packr.pack(head)
  const buf = header(type, flags, stream, payload.length, payload.length)
  buf.set(payload, HEADER_BYTES)
  return buf
}

/** Sets END_STREAM on a DATA or RESPONSE frame already encoded by {@link encodeFrame} (its first buffer). */
export function setEndFlag (head: Buffer): void {
  head[1] |= FLAG_END_STREAM
}

/** Sets the payload length of a DATA frame already encoded by {@link encodeFrame} (its first buffer). */
export function setDataLength (head: Buffer, length: number): void {
  head.writeUInt32BE(length, 6)
}

/**
 * Encodes one frame as buffers to be written back to back (DATA keeps its chunk as a separate
 * buffer so body bytes are copied once, when the message is assembled).
 */
export function encodeFrame (frame: Frame): Buffer[] {
  switch (frame.type) {
    case 'data': {
      const h = header(FRAME_TYPE.data, frame.end ? FLAG_END_STREAM : 0, frame.stream, frame.chunk.byteLength)
      return frame.chunk.byteLength === 0 ? [h] : [h, frame.chunk as Buffer]
    }
    case 'window': {
      const buf = header(FRAME_TYPE.window, 0, frame.stream, 4, 4)
      buf.writeUInt32BE(frame.increment, HEADER_BYTES)
      return [buf]
    }
    case 'ping':
    case 'pong': {
      // Always exactly 8 bytes: short data is zero-padded, never filled from stale memory.
      const buf = header(FRAME_TYPE[frame.type], 0, 0, 8, 8)
      buf.fill(0, HEADER_BYTES)
      buf.set(frame.data.subarray(0, 8), HEADER_BYTES)
      return [buf]
    }
    case 'hello':
    case 'welcome':
    case 'goaway':
    case 'error':
    case 'job_offer':
    case 'job_state':
    case 'job_records':
    case 'job_ack':
    case 'job_poll':
    case 'job_poll_end': {
      const { type, ...head } = frame
      return [headFrame(FRAME_TYPE[type], 0, 0, head)]
    }
    case 'request':
    case 'response':
    case 'reset': {
      const { type, stream, ...rest } = frame
      const { end, ...head } = rest as typeof rest & { end?: boolean }
      return [headFrame(FRAME_TYPE[type], end === true ? FLAG_END_STREAM : 0, stream, head)]
    }
  }
}

/** Encodes frames into one WebSocket message. */
export function encodeMessage (frames: readonly Frame[]): Buffer {
  const parts: Buffer[] = []
  for (const f of frames) parts.push(...encodeFrame(f))
  return parts.length === 1 ? parts[0] : Buffer.concat(parts)
}

export interface DecodeLimits {
  /** Largest frame payload accepted, in bytes. */
  readonly maxFrameBytes: number
}

function fail (frames: DecodedFrame[], message: string, stream = 0): DecodeResult {
  return { frames, error: { code: 'PROTOCOL_ERROR', message, stream, fatal: true } }
}

/**
 * Decodes every frame of one WebSocket message. A frame with invalid content becomes an
 * InvalidFrame and decoding continues; broken framing stops it. `error` reports the first
 * problem, naming the offending stream (0 for the connection).
 */
export function decodeMessage (msg: Uint8Array, limits: DecodeLimits): DecodeResult {
  const frames: DecodedFrame[] = []
  let error: DecodeError | undefined
  const view = new DataView(msg.buffer, msg.byteOffset, msg.byteLength)
  let pos = 0
  if (msg.byteLength === 0) return fail(frames, 'empty message')
  while (pos < msg.byteLength) {
    if (msg.byteLength - pos < HEADER_BYTES) return fail(frames, 'truncated frame header')
    const typeId = msg[pos]
    const flags = msg[pos + 1]
    const stream = view.getUint32(pos + 2)
    const length = view.getUint32(pos + 6)
    pos += HEADER_BYTES
    if (length > msg.byteLength - pos) return fail(frames, 'frame length exceeds the message', stream)
    const payload = msg.subarray(pos, pos + length)
    pos += length
    const type = TYPE_BY_ID.get(typeId)
    if (type === undefined) {
      frames.push({ type: 'unknown', typeId, stream })
      continue
    }
    const result = decodeFrame(type, flags, stream, payload, limits)
    if (typeof result === 'string') {
      frames.push({ type: 'invalid', of: type, stream, message: result })
      error ??= { code: 'PROTOCOL_ERROR', message: result, stream, fatal: false }
    } else {
      frames.push(result)
    }
  }
  return error === undefined ? { frames } : { frames, error }
}

function decodeFrame (type: FrameTypeName, flags: number, stream: number, payload: Uint8Array, limits: DecodeLimits): Frame | string {
  const onConnection = CONNECTION_TYPES.has(type)
  if (onConnection !== (stream === 0)) {
    return `${type.toUpperCase()} must be sent on ${onConnection ? 'stream 0' : 'a stream other than 0'}`
  }
  const end = (flags & FLAG_END_STREAM) !== 0
  switch (type) {
    case 'data':
      if (payload.byteLength > limits.maxFrameBytes) return `DATA frame of ${payload.byteLength} bytes exceeds ${limits.maxFrameBytes}`
      return { type, stream, end, chunk: payload }
    case 'window': {
      if (payload.byteLength !== 4) return 'WINDOW payload must be 4 bytes'
      const increment = new DataView(payload.buffer, payload.byteOffset, 4).getUint32(0)
      if (increment === 0 || increment > 0x7fffffff) return 'WINDOW increment must be from 1 to 2^31-1'
      return { type, stream, increment }
    }
    case 'ping':
    case 'pong':
      if (payload.byteLength !== 8) return `${type.toUpperCase()} payload must be 8 bytes`
      return { type, data: payload }
    default:
      return decodeHead(type, payload, (head) => isJobFrameType(type) ? validateJobHead(type, head) : validateHead(type, stream, end, head))
  }
}

function decodeHead (type: FrameTypeName, payload: Uint8Array, validate: (head: unknown) => Frame | string): Frame | string {
  if (payload.byteLength > HEAD_LIMITS.maxHeadBytes) return `${type.toUpperCase()} head exceeds ${HEAD_LIMITS.maxHeadBytes} bytes`
  const problem = scanMsgpack(payload, HEAD_LIMITS.maxDepth)
  if (problem !== undefined) return `${type.toUpperCase()}: ${problem}`
  let head: unknown
  try {
    head = unpackr.unpack(payload)
  } catch (err) {
    return `${type.toUpperCase()}: undecodable head (${(err as Error).message})`
  }
  return validate(head)
}
