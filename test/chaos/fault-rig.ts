/**
 * What the fault cases share: a bridge with calls held in flight at the chaos target (POSTs to
 * the counting `/once`, half through `/api/call`, half through the path-form relay), and the
 * checks that follow a fault: the target saw every request closed, the bridge carries calls
 * again, and no Call-URL reached the target twice.
 */
import assert from 'node:assert/strict'
import { setTimeout as delay } from 'node:timers/promises'
import { waitFor } from '../e2e/harness.js'
import type { Agent, Cloud } from '../e2e/harness.js'
import { apiCall, describe, outcomeOf, relayUrl } from './calls.js'
import type { Outcome } from './calls.js'
import { HEARTBEAT_MS } from './chaos-config.js'
import type { ChaosTarget } from './chaos-target.js'

/** One bridge under test and the cloud it reaches. */
export interface Rig {
  cloud: Cloud
  readonly agent: Agent
  /** The bridge name, so calls stay on this bridge when a cloud carries several. */
  readonly name: string
}

/** Starts `n` POSTs to `/once?id=TAG-i&hold=1` and resolves once every one of them is at the target. */
export async function holdCalls (rig: Rig, target: ChaosTarget, tag: string, n: number): Promise<Array<Promise<Outcome>>> {
  const calls = Array.from({ length: n }, (_, i) => postOnce(rig, target, `${tag}-${i}`, { hold: true }))
  await waitFor(() => ids(tag, n).every((id) => target.count(id) === 1), { message: `${n} ${tag} calls at the target` })
  return calls
}

/**
 * POSTs to `/once?id=ID` on `rig`'s bridge: through `/api/call` when ID ends in an even number,
 * else the path-form relay. `hold`: the target never answers; `delayMs`: it answers that late.
 */
export function postOnce (rig: Rig, target: ChaosTarget, id: string, how: { hold?: boolean, delayMs?: number } = {}): Promise<Outcome> {
  const path = `/once?id=${id}${how.hold === true ? '&hold=1' : ''}${how.delayMs === undefined ? '' : `&delayMs=${how.delayMs}`}`
  const body = `payload of ${id}`
  if (Number(id.slice(id.lastIndexOf('-') + 1)) % 2 === 0) {
    return apiCall(rig.cloud, { method: 'POST', url: target.url + path, body, bridge: rig.name })
  }
  return outcomeOf(relayUrl(rig.cloud, target.port, path, rig.name), { method: 'POST', body })
}

function ids (tag: string, n: number): string[] {
  return Array.from({ length: n }, (_, i) => `${tag}-${i}`)
}

/** Resolves with `performance.now()` once the target saw all `n` held requests of `tag` closed; throws after `timeoutMs`. */
export async function closedAt (target: ChaosTarget, tag: string, n: number, timeoutMs: number): Promise<number> {
  await waitFor(() => ids(tag, n).every((id) => target.closed(id) === 1), { timeoutMs, intervalMs: 10, message: `the agent closing the ${n} ${tag} requests at the target` })
  return performance.now()
}

/** Resolves with `performance.now()` of the first fresh call that succeeds through the bridge; throws after `timeoutMs`. */
export async function backAt (rig: Rig, target: ChaosTarget, tag: string, timeoutMs: number): Promise<number> {
  let probe = 0
  await waitFor(async () => (await postOnce(rig, target, `${tag}-probe-${probe++}`)).status === 200,
    { timeoutMs, intervalMs: 20, message: `a call through ${rig.name} succeeding again` })
  return performance.now()
}

/**
 * Sends `n` fresh POSTs (each must reach the target once and come back), watches a few heartbeat
 * periods for late arrivals, then asserts that every held request of `tag` reached the target
 * exactly once and was closed exactly once: nothing was replayed into the new session.
 */
export async function assertNoReplay (rig: Rig, target: ChaosTarget, tag: string, n: number): Promise<void> {
  const fresh = await Promise.all(Array.from({ length: n }, (_, i) => postOnce(rig, target, `${tag}-fresh-${i}`)))
  for (const [i, outcome] of fresh.entries()) {
    assert.equal(outcome.status, 200, `fresh call ${i}: ${describe(outcome)}`)
    assert.equal((JSON.parse(String(outcome.body)) as { arrivals: number }).arrivals, 1, `fresh call ${i} arrived more than once`)
  }
  // A replay would come with the new session; proving there is none takes a bounded watch.
  await delay(2 * HEARTBEAT_MS)
  const replayed = ids(tag, n).filter((id) => target.count(id) !== 1)
  assert.deepEqual(replayed, [], `requests that reached the target more than once: ${replayed.map((id) => `${id} x${target.count(id)}`).join(', ')}`)
  const unclosed = ids(tag, n).filter((id) => target.closed(id) !== 1)
  assert.deepEqual(unclosed, [], 'held requests not closed exactly once')
}

/** Asserts that every outcome is `status`/`code` within `withinMs` of `since`; returns the slowest, in ms. */
export function assertFailedFast (outcomes: readonly Outcome[], expect: (outcome: Outcome) => boolean, since: number, withinMs: number): number {
  let slowest = 0
  for (const [i, outcome] of outcomes.entries()) {
    assert.ok(expect(outcome), `call ${i} ended with ${describe(outcome)}`)
    slowest = Math.max(slowest, outcome.at - since)
  }
  assert.ok(slowest <= withinMs, `the last caller was answered ${Math.round(slowest)} ms after the fault (bound ${withinMs} ms)`)
  return slowest
}
