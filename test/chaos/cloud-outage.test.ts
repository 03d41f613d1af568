/**
 * Chaos: the cloud is unreachable for a long while (the link black-holed: every attempt of the
 * agent connects to nothing and times out) while the agent keeps trying. Its resident memory must
 * stay within a few MB of where it was, and nothing from before or during the outage may reach
 * the target, or the new session, after the link is back: calls answered by the target into the
 * dead session, calls sent just before the cut, and calls made during the outage.
 */
import assert from 'node:assert/strict'
import { after, test } from 'node:test'
import { setTimeout as delay } from 'node:timers/promises'
import { startTcpRelay } from '../support/tcp-relay.js'
import type { TcpRelay } from '../support/tcp-relay.js'
import { cleanup, startAgent, startCloud, waitFor } from '../e2e/harness.js'
import type { Outcome } from './calls.js'
import { AGENT_ARGS, CLOUD_ARGS, HEARTBEAT_MS, SCALE, caseTimeout } from './chaos-config.js'
import { startChaosTarget } from './chaos-target.js'
import type { ChaosTarget } from './chaos-target.js'
import { backAt, postOnce } from './fault-rig.js'
import type { Rig } from './fault-rig.js'
import { median, mib, MiB, watchRss } from './probes.js'

/** What the agent's RSS may grow by during the outage: "a few MB", in bytes. */
const RSS_ALLOWANCE = 5 * MiB
/** The reconnect backoff's cap (agent/backoff.ts) plus one handshake timeout and 2 s: the longest wait after the link heals, in ms. */
const BACK_WITHIN_MS = 30_000 + 1_000 + 2_000
const WARM_UP_CALLS = 100

let relay: TcpRelay | undefined
let target: ChaosTarget | undefined
after(async () => {
  await relay?.close()
  await target?.close()
  await cleanup()
})

function connectedLines (rig: Rig): number {
  return rig.agent.proc.json().filter((line) => line.msg === 'connected').length
}

/** Calls the agent has answered into the dead session, sent just before the cut, and during the outage. */
interface StaleCalls { late: Array<Promise<Outcome>>, before: Array<Promise<Outcome>>, during: Array<Promise<Outcome>> }

test(`${SCALE.outageMs / 1000} s without the cloud: agent RSS within ${mib(RSS_ALLOWANCE)} MiB, and nothing stale delivered after the reconnect`, { timeout: caseTimeout(40_000, 150_000) }, async (t) => {
  const [cloud, chaosTarget] = await Promise.all([startCloud({ args: [...CLOUD_ARGS] }), startChaosTarget()])
  target = chaosTarget
  relay = await startTcpRelay({ host: '127.0.0.1', port: cloud.port })
  const agent = await startAgent({ agentUrl: relay.url('ws', '/agent') }, { name: 'outage', args: [...AGENT_ARGS] })
  const rig: Rig = { cloud, agent, name: 'outage' }
  for (let i = 0; i < WARM_UP_CALLS; i += 10) {
    await Promise.all(Array.from({ length: 10 }, (_, j) => postOnce(rig, chaosTarget, `warm-${i + j}`)))
  }
  const settle = watchRss(agent.proc.child.pid!)
  await delay(1_000) // a second of samples at rest, for a baseline that is not one lucky sample
  settle.stop()
  const baseline = median(settle.samples)

  const stale: StaleCalls = { late: [], before: [], during: [] }
  // Answered by the target one heartbeat into the outage: the answer goes into the dead session.
  stale.late = Array.from({ length: 10 }, (_, i) => postOnce(rig, chaosTarget, `late-${i}`, { delayMs: HEARTBEAT_MS }))
  await waitFor(() => Array.from({ length: 10 }, (_, i) => `late-${i}`).every((id) => chaosTarget.count(id) === 1), { message: 'the late calls at the target' })
  stale.before = Array.from({ length: 10 }, (_, i) => postOnce(rig, chaosTarget, `before-${i}`))
  const cutAt = performance.now()
  relay.setMode('blackhole')
  const watch = watchRss(agent.proc.child.pid!, 100)
  for (let i = 0; performance.now() - cutAt < SCALE.outageMs; i++) {
    stale.during.push(postOnce(rig, chaosTarget, `during-${i}`))
    await delay(1_000) // the outage itself: one call a second into it
  }
  const peak = watch.stop()
  const arrivedBeforeHeal = new Map(chaosTarget.arrivals.map(({ id }) => [id, chaosTarget.count(id)]))
  const healAt = performance.now()
  relay.setMode('pass')
  const back = await backAt(rig, chaosTarget, 'after', BACK_WITHIN_MS) - healAt
  const outcomes = await Promise.all([...stale.late, ...stale.before, ...stale.during])
  // Late frames would show within a few heartbeats of the new session; watch that long.
  await delay(2 * HEARTBEAT_MS)

  const growth = peak - baseline
  t.diagnostic(`agent RSS ${mib(baseline)} MiB at rest, peak ${mib(peak)} MiB during the outage (+${mib(growth)} MiB, ${watch.samples.length} samples); calls flowed ${Math.round(back)} ms after the link healed, ${relay.accepted} connections through the relay in all`)
  t.diagnostic(`stale calls: ${outcomes.length}, answered ${[...new Set(outcomes.map((o) => o.failed === true ? 'failed' : `${o.status} ${o.code ?? ''}`))].join(', ')}`)
  assert.ok(growth <= RSS_ALLOWANCE, `agent RSS grew by ${mib(growth)} MiB during the outage (baseline ${mib(baseline)} MiB)`)
  for (const outcome of outcomes) assert.notEqual(outcome.status, 200, 'a call of before or during the outage was answered by the target')
  const lateArrivals = chaosTarget.arrivals.filter(({ id }) => /^(late|before|during)-/.test(id) && chaosTarget.count(id) !== (arrivedBeforeHeal.get(id) ?? 0))
  assert.deepEqual(lateArrivals, [], 'requests of before the reconnect reached the target after it')
  assert.ok(chaosTarget.arrivals.every(({ id }) => chaosTarget.count(id) === 1), 'a request reached the target twice')
  assert.deepEqual(chaosTarget.arrivals.filter(({ id }) => id.startsWith('during-')), [], 'a call made during the outage reached the target')
  assert.equal(connectedLines(rig), 2, 'the new session ended again (a stale frame would end it with PROTOCOL_ERROR)')
  assert.deepEqual(cloud.proc.lines.filter((line) => line.includes('PROTOCOL_ERROR')), [], 'the cloud saw a protocol error')
})
