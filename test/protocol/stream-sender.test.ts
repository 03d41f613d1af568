import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { decodeMessage } from '../../protocol/codec.js'
import { FrameWriter } from '../../protocol/frame-writer.js'
import type { DataFrame } from '../../protocol/frames.js'
import { StreamSender } from '../../protocol/stream-sender.js'

interface Harness {
  readonly sender: StreamSender
  /** DATA frames sent since the last call (flushes the writer first). */
  sent (): DataFrame[]
  readonly drains: { count: number }
}

function harness (initialWindow: number, maxFrameBytes = 1 << 20, stream = 5): Harness {
  const messages: Buffer[] = []
  const writer = new FrameWriter((m) => messages.push(m), 1 << 30)
  const drains = { count: 0 }
  const sender = new StreamSender(stream, writer, initialWindow, maxFrameBytes, () => { drains.count++ })
  return {
    sender,
    drains,
    sent () {
      writer.flush()
      const frames: DataFrame[] = []
      for (const m of messages.splice(0)) {
        const { frames: decoded, error } = decodeMessage(m, { maxFrameBytes: 1 << 30 })
        assert.equal(error, undefined)
        for (const f of decoded) {
          assert.equal(f.type, 'data')
          if (f.type === 'data') frames.push(f)
        }
      }
      return frames
    }
  }
}

const bytesOf = (frames: readonly DataFrame[]): number => frames.reduce((n, f) => n + f.chunk.byteLength, 0)
const text = (frames: readonly DataFrame[]): string => Buffer.concat(frames.map((f) => f.chunk)).toString()
const chunk = (s: string): Buffer => Buffer.from(s)

test('writes within the credit go out at once', () => {
  const h = harness(100)
  assert.equal(h.sender.write(chunk('a'.repeat(60))), true)
  const frames = h.sent()
  assert.deepEqual(frames.map((f) => [f.stream, f.end, f.chunk.byteLength]), [[5, false, 60]])
  assert.equal(h.sender.pendingBytes, 0)
})

test('a write beyond the credit sends what fits, queues the rest, and asks the source to pause', () => {
  const h = harness(100)
  assert.equal(h.sender.write(chunk('x'.repeat(150))), false)
  assert.equal(bytesOf(h.sent()), 100)
  assert.equal(h.sender.pendingBytes, 50)
  assert.equal(h.sender.write(chunk('yyy')), false, 'later writes queue behind the pending bytes')
  assert.equal(h.sender.pendingBytes, 53)
  assert.deepEqual(h.sent(), [])
  assert.equal(h.drains.count, 0)
})

test('a grant drains the queue in order and calls onDrain once it is empty', () => {
  const h = harness(4)
  h.sender.write(chunk('abcdef'))
  h.sender.write(chunk('gh'))
  h.sender.write(chunk('ijkl'))
  assert.equal(text(h.sent()), 'abcd')
  assert.equal(h.sender.grant(3), true)
  assert.equal(text(h.sent()), 'efg')
  assert.equal(h.drains.count, 0, 'still pending: no drain yet')
  assert.equal(h.sender.pendingBytes, 5)
  assert.equal(h.sender.grant(100), true)
  assert.equal(text(h.sent()), 'hijkl')
  assert.equal(h.drains.count, 1)
  assert.equal(h.sender.pendingBytes, 0)
  assert.equal(h.sender.write(chunk('m')), true, 'credit left over is used by later writes')
  assert.equal(text(h.sent()), 'm')
})

test('chunks larger than maxFrameBytes are split', () => {
  const h = harness(10_000, 1024)
  assert.equal(h.sender.write(Buffer.alloc(3000, 7)), true)
  assert.deepEqual(h.sent().map((f) => f.chunk.byteLength), [1024, 1024, 952])
})

test('END goes out only after the pending bytes, then onDrain runs', () => {
  const h = harness(3)
  h.sender.write(chunk('hello'))
  h.sender.end()
  assert.equal(h.sender.ended, false)
  assert.deepEqual(h.sent().map((f) => [text([f]), f.end]), [['hel', false]])
  h.sender.grant(2)
  // The END rides on the last DATA frame (the writer merges an empty END into it).
  assert.deepEqual(h.sent().map((f) => [text([f]), f.end]), [['lo', true]])
  assert.equal(h.sender.ended, true)
  assert.equal(h.drains.count, 1)
})

test('END with nothing pending goes out at once as an empty DATA frame, and only once', () => {
  const h = harness(0)
  h.sender.end()
  h.sender.end()
  assert.equal(h.sender.ended, true)
  assert.deepEqual(h.sent(), [{ type: 'data', stream: 5, end: true, chunk: Buffer.alloc(0) }])
  assert.equal(h.drains.count, 0, 'nothing was pending, so there is nothing to drain')
})

test('writes after end and empty writes send nothing', () => {
  const h = harness(100)
  assert.equal(h.sender.write(Buffer.alloc(0)), true)
  h.sender.end()
  assert.equal(h.sender.write(chunk('late')), true)
  assert.deepEqual(h.sent().map((f) => [f.chunk.byteLength, f.end]), [[0, true]])
})

test('with no credit at all everything waits for a grant', () => {
  const h = harness(0)
  assert.equal(h.sender.write(chunk('abc')), false)
  assert.deepEqual(h.sent(), [])
  assert.equal(h.sender.grant(3), true)
  assert.equal(text(h.sent()), 'abc')
  assert.equal(h.drains.count, 1)
})

test('a grant that overflows 2^31-1 is refused and sends nothing', () => {
  const h = harness(0x7fffffff - 10)
  assert.equal(h.sender.grant(11), false)
  const q = harness(0)
  q.sender.write(chunk('abc'))
  assert.equal(q.sender.grant(0x7fffffff), true)
  q.sent()
  assert.equal(q.sender.grant(4), false)
  assert.deepEqual(q.sent(), [])
})

test('never sends beyond the credit; the bytes arrive whole, in order, in frames of at most maxFrameBytes', () => {
  const op = fc.oneof(
    fc.record({ write: fc.integer({ min: 0, max: 3000 }) }),
    fc.record({ grant: fc.integer({ min: 1, max: 2500 }) })
  )
  fc.assert(fc.property(fc.integer({ min: 0, max: 2000 }), fc.integer({ min: 1, max: 700 }), fc.array(op, { maxLength: 60 }), fc.boolean(),
    (initial, maxFrame, ops, end) => {
      const h = harness(initial, maxFrame)
      let credit = initial
      let written = 0
      let sent = 0
      let ends = 0
      const check = (): void => {
        const frames = h.sent()
        for (const f of frames) {
          assert.equal(ends, 0, 'nothing after END')
          if (f.end) ends++
          assert.ok(f.chunk.byteLength <= maxFrame)
          for (let i = 0; i < f.chunk.byteLength; i++) assert.equal(f.chunk[i], (sent + i) % 251, 'bytes in order')
          sent += f.chunk.byteLength
        }
        assert.ok(sent <= credit, 'never beyond the credit')
        assert.equal(h.sender.pendingBytes, written - sent)
      }
      for (const o of ops) {
        if ('write' in o) {
          const data = Buffer.alloc(o.write)
          for (let i = 0; i < data.byteLength; i++) data[i] = (written + i) % 251
          written += o.write
          assert.equal(h.sender.write(data), h.sender.pendingBytes === 0)
        } else {
          credit += o.grant
          h.sender.grant(o.grant)
        }
        check()
      }
      if (end) h.sender.end()
      h.sender.grant(written + 1)
      credit += written + 1
      check()
      assert.equal(sent, written, 'a big enough grant drains everything')
      assert.equal(ends, end ? 1 : 0)
      assert.equal(h.sender.ended, end)
    }), { numRuns: 300 })
})

