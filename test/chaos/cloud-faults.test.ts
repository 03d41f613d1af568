/**
 * Chaos: the cloud is killed (SIGKILL), closed (FIN), reset (RST) or frozen (SIGSTOP) with N
 * streams in flight (POSTs the target holds). Each time: the agent closes every request at the
 * target promptly, callers that still have a connection get 502 BRIDGE_DISCONNECTED, the bridge
 * carries calls again within 5 s of the cloud being there, and no POST reaches the target twice.
 */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { startTcpRelay } from '../support/tcp-relay.js'
import type { TcpRelay } from '../support/tcp-relay.js'
import { cleanup, startAgent, startCloud } from '../e2e/harness.js'
import type { Cloud } from '../e2e/harness.js'
import { isError } from './calls.js'
import { AGENT_ARGS, CLOUD_ARGS, DEAD_AFTER_MS, HEARTBEAT_MS, SCALE, caseTimeout } from './chaos-config.js'
import { startChaosTarget } from './chaos-target.js'
import type { ChaosTarget } from './chaos-target.js'
import { assertFailedFast, assertNoReplay, backAt, closedAt, holdCalls } from './fault-rig.js'
import type { Rig } from './fault-rig.js'

const N = SCALE.faultStreams
/** The socket closes at once (FIN, RST, a killed process): nothing to detect, only to react to, in ms. */
const ABRUPT_MS = 1_500
/** A frozen peer is noticed by heartbeats: one period, the dead-peer timeout, then 1 s, in ms. */
const FROZEN_MS = HEARTBEAT_MS + DEAD_AFTER_MS + 1_000
/** The bridge carries calls again this soon after the cloud is there again, in ms. */
const BACK_WITHIN_MS = 5_000
const TIMEOUT = caseTimeout(30_000, 120_000)

let target: ChaosTarget
const rigs = new Map<string, Rig & { relay?: TcpRelay }>()
const relays: TcpRelay[] = []

before(async () => {
  // The FIN, RST and SIGKILL bridges share a cloud (the kill comes last); SIGSTOP has its own.
  const [chaosTarget, shared, frozen] = await Promise.all([startChaosTarget(), startCloud({ args: [...CLOUD_ARGS] }), startCloud({ args: [...CLOUD_ARGS] })])
  target = chaosTarget
  const [finRelay, rstRelay] = await Promise.all([shared, shared].map((cloud) => startTcpRelay({ host: '127.0.0.1', port: cloud.port })))
  relays.push(finRelay, rstRelay)
  const setups: Array<[string, Cloud, string, TcpRelay | undefined]> = [
    ['fin', shared, finRelay.url('ws', '/agent'), finRelay],
    ['rst', shared, rstRelay.url('ws', '/agent'), rstRelay],
    ['sigstop', frozen, frozen.agentUrl, undefined],
    ['sigkill', shared, shared.agentUrl, undefined]
  ]
  await Promise.all(setups.map(async ([kind, cloud, agentUrl, relay]) => {
    const agent = await startAgent({ agentUrl }, { name: `faults-${kind}`, args: [...AGENT_ARGS] })
    rigs.set(kind, { cloud, agent, name: `faults-${kind}`, relay })
  }))
})

after(async () => {
  for (const rig of rigs.values()) rig.cloud.proc.child.kill('SIGCONT')
  await Promise.all(relays.map((relay) => relay.close()))
  await target?.close()
  await cleanup()
})

function rigOf (kind: string): Rig & { relay?: TcpRelay } {
  const rig = rigs.get(kind)
  assert.ok(rig !== undefined)
  return rig
}

for (const how of ['fin', 'rst'] as const) {
  test(`${how.toUpperCase()} between agent and cloud with ${N} POSTs in flight: callers get BRIDGE_DISCONNECTED at once, the target requests close, back within 5 s, nothing replayed`, { timeout: TIMEOUT }, async (t) => {
    const rig = rigOf(how)
    const calls = await holdCalls(rig, target, how, N)
    const faultAt = performance.now()
    rig.relay?.closeAll(how)
    const slowest = assertFailedFast(await Promise.all(calls), (o) => isError(o, 502, 'BRIDGE_DISCONNECTED'), faultAt, ABRUPT_MS)
    const closed = await closedAt(target, how, N, ABRUPT_MS) - faultAt
    const back = await backAt(rig, target, how, BACK_WITHIN_MS) - faultAt
    t.diagnostic(`${how}: callers answered within ${Math.round(slowest)} ms, target requests closed within ${Math.round(closed)} ms, calls flow again after ${Math.round(back)} ms`)
    await assertNoReplay(rig, target, how, N)
  })
}

test(`SIGKILL of the cloud with ${N} POSTs in flight: the target requests close at once, back within 5 s of the restarted cloud, nothing replayed`, { timeout: TIMEOUT }, async (t) => {
  const rig = rigOf('sigkill')
  const calls = await holdCalls(rig, target, 'sigkill', N)
  const faultAt = performance.now()
  await rig.cloud.proc.stop('SIGKILL')
  // The callers' own connections die with the cloud; the agent side is what is measured.
  const closed = await closedAt(target, 'sigkill', N, ABRUPT_MS) - faultAt
  for (const outcome of await Promise.all(calls)) assert.ok(outcome.failed === true || isError(outcome, 502, 'BRIDGE_DISCONNECTED'))
  rig.cloud = await startCloud({ port: rig.cloud.port, args: [...CLOUD_ARGS] })
  const readyAt = performance.now()
  const back = await backAt(rig, target, 'sigkill', BACK_WITHIN_MS) - readyAt
  t.diagnostic(`sigkill: target requests closed within ${Math.round(closed)} ms; the cloud was back after ${Math.round(readyAt - faultAt)} ms, calls flowed ${Math.round(back)} ms later`)
  await assertNoReplay(rig, target, 'sigkill', N)
})

test(`SIGSTOP of the cloud with ${N} POSTs in flight: the agent closes the target requests within heartbeat + timeout + 1 s; on SIGCONT callers get BRIDGE_DISCONNECTED, back within 5 s, nothing replayed`, { timeout: TIMEOUT }, async (t) => {
  const rig = rigOf('sigstop')
  const calls = await holdCalls(rig, target, 'sigstop', N)
  const faultAt = performance.now()
  rig.cloud.proc.child.kill('SIGSTOP')
  let contAt: number
  try {
    const closed = await closedAt(target, 'sigstop', N, FROZEN_MS) - faultAt
    t.diagnostic(`sigstop: target requests closed within ${Math.round(closed)} ms`)
    // Stay frozen until the agent has tried (and failed) to reach the frozen cloud again.
    await rig.agent.proc.waitForLine((line) => line.includes('"code":"timeout"') || line.includes('no WELCOME'), 10_000)
  } finally {
    contAt = performance.now()
    rig.cloud.proc.child.kill('SIGCONT')
  }
  const slowest = assertFailedFast(await Promise.all(calls), (o) => isError(o, 502, 'BRIDGE_DISCONNECTED'), contAt, ABRUPT_MS + HEARTBEAT_MS)
  const back = await backAt(rig, target, 'sigstop', BACK_WITHIN_MS) - contAt
  t.diagnostic(`sigstop: frozen for ${Math.round(contAt - faultAt)} ms; after SIGCONT callers answered within ${Math.round(slowest)} ms, calls flowed after ${Math.round(back)} ms`)
  await assertNoReplay(rig, target, 'sigstop', N)
})
