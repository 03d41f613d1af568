import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { ReceiveWindow, SendWindow } from '../../protocol/flow-control.js'

const MAX = 0x7fffffff

test('SendWindow: take spends at most the credit', () => {
  const w = new SendWindow(100)
  assert.equal(w.take(30), 30)
  assert.equal(w.credit, 70)
  assert.equal(w.take(100), 70)
  assert.equal(w.credit, 0)
  assert.equal(w.take(5), 0)
  assert.equal(w.take(0), 0)
  assert.equal(w.credit, 0)
})

test('SendWindow: grant adds credit up to 2^31-1 and reports overflow without applying it', () => {
  const w = new SendWindow(10)
  assert.equal(w.grant(5), true)
  assert.equal(w.credit, 15)
  assert.equal(w.grant(MAX - 15), true)
  assert.equal(w.credit, MAX)
  assert.equal(w.grant(1), false)
  assert.equal(w.credit, MAX)
  const empty = new SendWindow(0)
  assert.equal(empty.take(1), 0)
  assert.equal(empty.grant(MAX), true)
  assert.equal(empty.grant(1), false)
  assert.equal(empty.credit, MAX)
})

test('ReceiveWindow: DATA within the window is accepted, beyond it is an overrun', () => {
  const w = new ReceiveWindow(100)
  assert.equal(w.available, 100)
  assert.equal(w.receive(60), true)
  assert.equal(w.receive(40), true)
  assert.equal(w.available, 0)
  assert.equal(w.receive(1), false)
  assert.equal(w.receive(0), true, 'an empty DATA (END) never overruns')
  assert.equal(w.available, 0, 'a refused receive spends nothing')
})

test('ReceiveWindow: credit comes back in batches of at least half the window', () => {
  const w = new ReceiveWindow(100)
  assert.equal(w.receive(100), true)
  assert.equal(w.consume(10), 0)
  assert.equal(w.consume(39), 0)
  assert.equal(w.available, 0, 'nothing granted yet')
  assert.equal(w.consume(1), 50, 'reaching half the window grants everything consumed so far')
  assert.equal(w.available, 50)
  assert.equal(w.consume(49), 0)
  assert.equal(w.consume(1), 50)
  assert.equal(w.available, 100)
  assert.equal(w.receive(101), false)
  assert.equal(w.receive(100), true)
})

test('ReceiveWindow: one large consume is granted at once; odd sizes round up', () => {
  const w = new ReceiveWindow(101)
  w.receive(101)
  assert.equal(w.consume(50), 0, '50 < 101/2')
  assert.equal(w.consume(1), 51)
  const big = new ReceiveWindow(1000)
  big.receive(1000)
  assert.equal(big.consume(1000), 1000)
  assert.equal(big.available, 1000)
})

test('ReceiveWindow: an overrun is detected after partial grants', () => {
  const w = new ReceiveWindow(64)
  assert.equal(w.receive(64), true)
  assert.equal(w.consume(32), 32)
  assert.equal(w.receive(33), false)
  assert.equal(w.receive(32), true)
})

test('sender and receiver stay in step: the sender never overruns, the receiver never deadlocks', () => {
  fc.assert(fc.property(
    fc.integer({ min: 1, max: 4096 }),
    fc.array(fc.record({ send: fc.nat(2000), consume: fc.nat(2000) }), { maxLength: 200 }),
    (size, steps) => {
      const send = new SendWindow(size)
      const recv = new ReceiveWindow(size)
      let unconsumed = 0
      for (const step of steps) {
        const n = send.take(step.send)
        assert.equal(recv.receive(n), true, 'the receiver accepts whatever the sender had credit for')
        unconsumed += n
        const eaten = Math.min(step.consume, unconsumed)
        unconsumed -= eaten
        const increment = recv.consume(eaten)
        if (increment > 0) assert.equal(send.grant(increment), true)
        assert.equal(send.credit, recv.available, 'both sides agree on the credit')
        assert.ok(recv.available <= size)
      }
      // Once the application has read everything, at least half the window is open again.
      const increment = recv.consume(unconsumed)
      if (increment > 0) send.grant(increment)
      assert.ok(send.credit >= size / 2)
    }
  ), { numRuns: 300 })
})
