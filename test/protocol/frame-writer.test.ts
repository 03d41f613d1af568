import { test } from 'node:test'
import assert from 'node:assert/strict'
import { setImmediate as nextTurn } from 'node:timers/promises'
import { decodeMessage, encodeMessage } from '../../protocol/codec.js'
import { FrameWriter } from '../../protocol/frame-writer.js'
import type { DataFrame, Frame } from '../../protocol/frames.js'

function capture (maxMessageBytes: number): { writer: FrameWriter, messages: Buffer[] } {
  const messages: Buffer[] = []
  return { writer: new FrameWriter((m) => messages.push(m), maxMessageBytes), messages }
}

/** A DATA frame of exactly `size` bytes on the wire (10-byte header + payload). */
const data = (stream: number, size: number): DataFrame => ({ type: 'data', stream, end: false, chunk: Buffer.alloc(size - 10, stream) })
const decode = (m: Buffer): Frame[] => {
  const { frames, error } = decodeMessage(m, { maxFrameBytes: 1 << 20 })
  assert.equal(error, undefined)
  return frames as Frame[]
}

test('frames written in one turn leave as one message, in order, when the turn ends', async () => {
  const { writer, messages } = capture(1 << 20)
  const frames: Frame[] = [
    { type: 'response', stream: 1, end: false, status: 200, headers: [] },
    { type: 'data', stream: 1, end: false, chunk: Buffer.from('body') },
    { type: 'window', stream: 3, increment: 10 },
    { type: 'ping', data: Buffer.alloc(8, 1) },
    { type: 'data', stream: 1, end: true, chunk: Buffer.alloc(0) }
  ]
  for (const f of frames) writer.write(f)
  assert.equal(messages.length, 0, 'nothing is sent synchronously')
  await nextTurn()
  assert.equal(messages.length, 1)
  assert.deepEqual(messages[0], encodeMessage(frames))
  assert.deepEqual(decode(messages[0]), frames)
  await nextTurn()
  assert.equal(messages.length, 1, 'no empty message follows')
})

test('each turn gets its own message', async () => {
  const { writer, messages } = capture(1 << 20)
  writer.write(data(1, 20))
  await nextTurn()
  writer.write(data(3, 20))
  writer.write(data(5, 20))
  await nextTurn()
  assert.deepEqual(messages.map((m) => decode(m).length), [1, 2])
})

test('flushes early so that no message exceeds maxMessageBytes', async () => {
  const { writer, messages } = capture(100)
  for (const stream of [1, 3, 5, 7]) writer.write(data(stream, 30))
  assert.deepEqual(messages.map((m) => m.byteLength), [90], 'the fourth frame would have made 120 bytes')
  await nextTurn()
  assert.deepEqual(messages.map((m) => m.byteLength), [90, 30])
  assert.deepEqual(messages.flatMap(decode).map((f) => f.type === 'data' ? f.stream : 0), [1, 3, 5, 7])
})

test('a batch of exactly maxMessageBytes stays one message', async () => {
  const { writer, messages } = capture(100)
  writer.write(data(1, 60))
  writer.write(data(3, 40))
  assert.equal(messages.length, 0)
  await nextTurn()
  assert.deepEqual(messages.map((m) => m.byteLength), [100])
})

test('a single frame larger than maxMessageBytes goes alone, neither split nor dropped', async () => {
  const { writer, messages } = capture(100)
  writer.write(data(1, 20))
  writer.write(data(3, 150))
  writer.write(data(5, 20))
  await nextTurn()
  assert.deepEqual(messages.map((m) => m.byteLength), [20, 150, 20])
})

test('flush sends at once and cancels the end-of-turn send', async () => {
  const { writer, messages } = capture(1 << 20)
  writer.flush()
  assert.equal(messages.length, 0, 'flushing nothing sends nothing')
  writer.write(data(1, 20))
  writer.flush()
  assert.equal(messages.length, 1)
  await nextTurn()
  assert.equal(messages.length, 1)
  writer.write(data(3, 20))
  await nextTurn()
  assert.equal(messages.length, 2, 'writing after a flush schedules a new batch')
})

test('discard drops what is pending; the writer stays usable', async () => {
  const { writer, messages } = capture(1 << 20)
  writer.write(data(1, 20))
  writer.write(data(3, 20))
  writer.discard()
  await nextTurn()
  assert.equal(messages.length, 0)
  writer.flush()
  assert.equal(messages.length, 0)
  writer.write(data(5, 20))
  await nextTurn()
  assert.deepEqual(messages.flatMap(decode).map((f) => f.type === 'data' ? f.stream : 0), [5])
})

test('an empty END right after its stream\'s DATA in the same batch becomes that frame\'s END flag', async () => {
  const { writer, messages } = capture(1 << 20)
  writer.write({ type: 'response', stream: 1, end: false, status: 200, headers: [] })
  writer.write({ type: 'data', stream: 1, end: false, chunk: Buffer.from('hello') })
  writer.write({ type: 'data', stream: 1, end: true, chunk: Buffer.alloc(0) })
  await nextTurn()
  assert.deepEqual(decode(messages[0]), [
    { type: 'response', stream: 1, end: false, status: 200, headers: [] },
    { type: 'data', stream: 1, end: true, chunk: Buffer.from('hello') }
  ])
})

test('an empty response is a single RESPONSE with END', async () => {
  const { writer, messages } = capture(1 << 20)
  writer.write({ type: 'response', stream: 3, end: false, status: 204, headers: ['x-a', '1'] })
  writer.write({ type: 'data', stream: 3, end: true, chunk: Buffer.alloc(0) })
  await nextTurn()
  assert.deepEqual(decode(messages[0]), [{ type: 'response', stream: 3, end: true, status: 204, headers: ['x-a', '1'] }])
})

test('a REQUEST that announced a body keeps its own END frame, even for an empty body', async () => {
  const { writer, messages } = capture(1 << 20)
  const request: Frame = { type: 'request', stream: 1, end: false, method: 'POST', url: 'http://127.0.0.1/', headers: [], timeoutMs: 0, followRedirects: false }
  writer.write(request)
  writer.write({ type: 'data', stream: 1, end: true, chunk: Buffer.alloc(0) })
  await nextTurn()
  assert.deepEqual(decode(messages[0]), [request, { type: 'data', stream: 1, end: true, chunk: Buffer.alloc(0) }])
})

test('an END is its own frame when its DATA is not the batch\'s last frame, belongs to another stream, or went out already', async () => {
  const { writer, messages } = capture(1 << 20)
  const end = (stream: number): DataFrame => ({ type: 'data', stream, end: true, chunk: Buffer.alloc(0) })
  // Something else came between.
  writer.write(data(1, 20))
  writer.write({ type: 'window', stream: 1, increment: 10 })
  writer.write(end(1))
  // Another stream's DATA.
  writer.write(data(3, 20))
  writer.write(end(5))
  // An END of stream 7, whose DATA left in the previous message.
  writer.write(data(7, 20))
  await nextTurn()
  writer.write(end(7))
  await nextTurn()
  const frames = messages.flatMap(decode)
  assert.deepEqual(frames.map((f) => f.type === 'data' ? `${f.stream}:${f.chunk.byteLength}:${f.end}` : f.type), [
    '1:10:false', 'window', '1:0:true', '3:10:false', '5:0:true', '7:10:false', '7:0:true'
  ])
})

test('DATA of the batch\'s open stream joins its last DATA frame, up to the peer\'s maxFrameBytes', async () => {
  const messages: Buffer[] = []
  const writer = new FrameWriter((m) => messages.push(m), 1 << 20, 25)
  const chunk = (text: string, end = false): DataFrame => ({ type: 'data', stream: 1, end, chunk: Buffer.from(text) })
  writer.write(chunk('0123456789'))
  writer.write(chunk('abcdefghij'))
  writer.write(chunk('ABCDEFGHIJ')) // 30 bytes would exceed 25: a new frame
  writer.write({ type: 'data', stream: 3, end: false, chunk: Buffer.from('other') })
  writer.write(chunk('xyz', true)) // stream 3's frame came between: a new frame
  await nextTurn()
  const frames = decode(messages[0])
  assert.deepEqual(frames.map((f) => f.type === 'data' ? `${f.stream}:${Buffer.from(f.chunk).toString()}:${f.end}` : f.type), [
    '1:0123456789abcdefghij:false', '1:ABCDEFGHIJ:false', '3:other:false', '1:xyz:true'
  ])
})

test('joined DATA carries the END of its last chunk, and a writer without maxFrameBytes never joins', async () => {
  const joined: Buffer[] = []
  const plain: Buffer[] = []
  const writers = [new FrameWriter((m) => joined.push(m), 1 << 20, 1 << 10), new FrameWriter((m) => plain.push(m), 1 << 20)]
  for (const writer of writers) {
    writer.write({ type: 'response', stream: 5, end: false, status: 200, headers: [] })
    writer.write({ type: 'data', stream: 5, end: false, chunk: Buffer.from('he') })
    writer.write({ type: 'data', stream: 5, end: true, chunk: Buffer.from('llo') })
  }
  await nextTurn()
  const shape = (m: Buffer): string[] => decode(m).map((f) => f.type === 'data' ? `${Buffer.from(f.chunk).toString()}:${f.end}` : f.type)
  assert.deepEqual(shape(joined[0]), ['response', 'hello:true'])
  assert.deepEqual(shape(plain[0]), ['response', 'he:false', 'llo:true'])
})
