import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { Backoff, BACKOFF_DEFAULTS } from '../../agent/backoff.js'

/** A random source that plays back `values` in a loop and counts its calls. */
function scripted (...values: number[]): { random: () => number, readonly calls: number } {
  let calls = 0
  return {
    random: () => values[calls++ % values.length],
    get calls () { return calls }
  }
}

/** `n` delays of plain (not rejected) failures in a row, all at time 0. */
function failures (backoff: Backoff, n: number): number[] {
  return Array.from({ length: n }, () => backoff.next(0))
}

const ALMOST_ONE = 1 - Number.EPSILON

test('pins the defaults: 250 ms first, x1.6, 30 s cap, reset after 60 s up, 5 s when rejected', () => {
  assert.deepEqual({ ...BACKOFF_DEFAULTS, random: undefined }, {
    initial: 250, max: 30_000, factor: 1.6, stableAfter: 60_000, rejectedDelay: 5_000, random: undefined
  })
  assert.equal(BACKOFF_DEFAULTS.random, Math.random)
  assert.ok(Object.isFrozen(BACKOFF_DEFAULTS))
})

test('the delay ceiling grows by the factor per failure up to the cap', () => {
  const top = failures(new Backoff({ random: () => ALMOST_ONE }), 14)
  const expected = [250, 400, 640, 1024, 1638.4, 2621.44, 4194.3, 6710.9, 10737.4, 17179.9, 27487.8, 30_000, 30_000, 30_000]
  for (const [i, delay] of top.entries()) assert.ok(Math.abs(delay - expected[i]) <= 1, `failure ${i}: ${delay} ms, expected about ${expected[i]}`)
})

test('jitter is drawn afresh on every call, so delays at the same step differ between bridges', () => {
  const source = scripted(0.9, 0.1, 0.5)
  const backoff = new Backoff({ random: source.random })
  failures(backoff, 6)
  assert.equal(source.calls, 6)
  // Two bridges at the same step with different draws must not retry in lock step.
  const low = new Backoff({ random: () => 0 }).next(0)
  const high = new Backoff({ random: () => ALMOST_ONE }).next(0)
  assert.ok(high - low >= 100, `${low} vs ${high}`) // jitter spans the upper half of the 250 ms ceiling
  // And one bridge's draw at step n is not reused at step n + 1.
  const alternating = failures(new Backoff({ random: scripted(ALMOST_ONE, 0).random }), 4)
  assert.ok(alternating[1] < alternating[0] && alternating[3] < alternating[2], alternating.join(', '))
})

test('a delay is never 0 and never above the cap, whatever the random source returns', () => {
  fc.assert(fc.property(
    fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), { minLength: 1, maxLength: 60 }),
    (draws) => {
      const backoff = new Backoff({ random: scripted(...draws).random })
      for (const delay of failures(backoff, 60)) {
        assert.ok(delay > 0, `delay ${delay}`)
        assert.ok(delay <= BACKOFF_DEFAULTS.max, `delay ${delay}`)
      }
    }
  ))
  assert.ok(new Backoff({ random: () => 0 }).next(0) > 0)
})

test('a session shorter than stableAfter does not reset the delay; a stable one does', () => {
  const flapping = new Backoff({ random: () => ALMOST_ONE })
  failures(flapping, 5)
  let now = 0
  for (let i = 0; i < 5; i++) {
    flapping.up(now)
    now += BACKOFF_DEFAULTS.stableAfter - 1
    flapping.next(now)
  }
  assert.ok(flapping.next(now) >= 17_000, 'a link that flaps keeps growing its delay')

  const stable = new Backoff({ random: () => ALMOST_ONE })
  failures(stable, 8)
  stable.up(1_000)
  const after = stable.next(1_000 + BACKOFF_DEFAULTS.stableAfter)
  assert.ok(after <= BACKOFF_DEFAULTS.initial, `after a stable session: ${after} ms`)
  assert.equal(stable.attempt, 1)
})

test('being up does not count as stable once the session ended', () => {
  const backoff = new Backoff({ random: () => ALMOST_ONE })
  failures(backoff, 6)
  backoff.up(0)
  backoff.next(10) // that session ended after 10 ms
  // A later failure, long after, without a new session in between: no reset.
  assert.ok(backoff.next(10 * BACKOFF_DEFAULTS.stableAfter) > 4_000)
})

test('a rejected login waits at least 5 s (12 attempts a minute at most), never less than 1 s', () => {
  fc.assert(fc.property(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), fc.nat(40), (draw, before) => {
    const backoff = new Backoff({ random: () => draw })
    failures(backoff, before)
    const delay = backoff.next(0, true)
    assert.ok(delay >= BACKOFF_DEFAULTS.rejectedDelay, `rejected delay ${delay}`)
    assert.ok(delay <= BACKOFF_DEFAULTS.max, `rejected delay ${delay}`)
  }))
  const worst = new Backoff({ random: () => 0 })
  let elapsed = 0
  let attempts = 1
  while ((elapsed += worst.next(elapsed, true)) < 60_000) attempts++
  assert.ok(attempts <= 12, `${attempts} attempts in a minute`)
  // A misconfigured tiny rejectedDelay still never goes under 1 s.
  assert.ok(new Backoff({ rejectedDelay: 10, random: () => 0 }).next(0, true) >= 1_000)
})

test('a rejection does not make the following plain failure retry fast', () => {
  const backoff = new Backoff({ random: () => ALMOST_ONE })
  failures(backoff, 4)
  backoff.next(0, true)
  assert.ok(backoff.next(0) > 1_638, 'the exponential step keeps counting across a rejection')
})

test('token renewals do not restart the stability clock: a link renewed every 50 s for minutes is stable', () => {
  const backoff = new Backoff({ random: () => ALMOST_ONE })
  failures(backoff, 6) // a rough start: the next delay would be about 6.7 s
  let now = 0
  for (let i = 0; i < 4; i++) {
    backoff.up(now)
    now += 50_000 // each session ends short of stableAfter, by a token renewal...
    backoff.renewed(now)
    now += 5 // ...and the agent is back at once
  }
  backoff.up(now)
  const delay = backoff.next(now + 1_000) // then the link drops abruptly
  assert.ok(delay <= BACKOFF_DEFAULTS.initial, `after 200 s of renewed sessions: ${delay} ms`)
})

test('a renewal after a short link does not count as stable', () => {
  const backoff = new Backoff({ random: () => ALMOST_ONE })
  failures(backoff, 6)
  backoff.up(0)
  backoff.renewed(10_000)
  backoff.up(10_005)
  assert.ok(backoff.next(20_000) > 4_000, 'up 20 s in all: not stable yet')
})
