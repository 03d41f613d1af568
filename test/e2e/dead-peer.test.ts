/**
 * End to end: peers that die without saying so. A frozen cloud (SIGSTOP) or a silent partition
 * (a black-holed TCP relay) must be noticed by heartbeats within about two intervals, on both
 * sides; a connection lost mid-call (RST, or the cloud killed) must fail the callers at once,
 * abort the agent's requests to the target, and leave no file descriptor behind in the agent.
 */
import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import { startTcpRelay } from '../support/tcp-relay.js'
import type { TcpRelay } from '../support/tcp-relay.js'
import { cleanup, openFds, startAgent, startCloud, startTarget, waitFor } from './harness.js'
import type { Agent, Cloud } from './harness.js'

const HEARTBEAT_MS = 500
/** Two silent intervals, one more beat to notice, then room for a loaded machine. */
const DETECT_WITHIN_MS = 3_000
const HEARTBEAT = ['--heartbeat-interval', String(HEARTBEAT_MS)]
const CALLS = 20

const relays = new Set<TcpRelay>()
after(async () => {
  await Promise.all([...relays].map((relay) => relay.close()))
  await cleanup()
})

async function relayTo (cloud: Cloud): Promise<TcpRelay> {
  const relay = await startTcpRelay({ host: '127.0.0.1', port: cloud.port })
  relays.add(relay)
  return relay
}

function isHeartbeatWarning (line: string): boolean {
  const parsed = JSON.parse(line) as { level?: number, msg?: string }
  return parsed.level === 40 && /heartbeat/i.test(parsed.msg ?? '')
}

/** Resolves with the ms from `since` until `agent` logs its heartbeat warning. */
async function heartbeatWarningAfter (agent: Agent, since: number): Promise<number> {
  await agent.proc.waitForLine(isHeartbeatWarning, DETECT_WITHIN_MS + 5_000)
  return performance.now() - since
}

describe('dead peer detection', () => {
  test('a frozen cloud (SIGSTOP) is detected by the agent within about two heartbeat intervals', async (t) => {
    const cloud = await startCloud({ args: HEARTBEAT })
    const agent = await startAgent(cloud, { args: [...HEARTBEAT, '--handshake-timeout', '1000'] })
    const frozenAt = performance.now()
    cloud.proc.child.kill('SIGSTOP')
    try {
      const detectMs = await heartbeatWarningAfter(agent, frozenAt)
      t.diagnostic(`detected after ${Math.round(detectMs)} ms`)
      assert.ok(detectMs <= DETECT_WITHIN_MS, `the agent noticed the frozen cloud after ${Math.round(detectMs)} ms`)
    } finally {
      cloud.proc.child.kill('SIGCONT')
    }
    await agent.waitConnected(10_000, 2)
    await waitFor(async () => (await cloud.bridges()).length === 1, { message: 'the bridge listed again' })
  })

  test('a silent partition is detected on both sides; the bridge comes back when it heals', async (t) => {
    const cloud = await startCloud({ args: HEARTBEAT })
    const relay = await relayTo(cloud)
    const agent = await startAgent({ agentUrl: relay.url('ws', '/agent') }, { args: HEARTBEAT })
    await waitFor(async () => (await cloud.bridges()).length === 1, { message: 'the bridge listed' })
    const cutAt = performance.now()
    relay.setMode('blackhole')
    const [agentMs, cloudMs] = await Promise.all([
      heartbeatWarningAfter(agent, cutAt),
      waitFor(async () => (await cloud.bridges()).length === 0, { timeoutMs: DETECT_WITHIN_MS + 5_000, message: 'the cloud dropping the bridge' })
        .then(() => performance.now() - cutAt)
    ])
    t.diagnostic(`agent detected after ${Math.round(agentMs)} ms, cloud after ${Math.round(cloudMs)} ms`)
    assert.ok(agentMs <= DETECT_WITHIN_MS, `the agent noticed the partition after ${Math.round(agentMs)} ms`)
    assert.ok(cloudMs <= DETECT_WITHIN_MS, `the cloud dropped the bridge after ${Math.round(cloudMs)} ms`)
    await cloud.proc.waitForLine((line) => /heartbeat/i.test(line) && line.includes('"level":40'), 1_000)
    relay.setMode('pass')
    await agent.waitConnected(10_000, 2)
    await waitFor(async () => (await cloud.bridges()).length === 1, { message: 'the bridge listed again' })
  })
})

interface CallOutcome { readonly status?: number, readonly code?: string | null, readonly settledAt: number, readonly failed?: boolean }

/** Starts `CALLS` pass-through calls to the target's `/hang` and resolves once all of them reached it. */
async function hangingCalls (cloud: Cloud, target: { port: number, counters: Map<string, number> }): Promise<Array<Promise<CallOutcome>>> {
  const url = `${cloud.url}/relay/_/http/127.0.0.1:${target.port}/hang`
  const calls = Array.from({ length: CALLS }, async (): Promise<CallOutcome> => {
    try {
      const res = await fetch(url)
      await res.arrayBuffer()
      return { status: res.status, code: res.headers.get('x-outbridge-error'), settledAt: performance.now() }
    } catch {
      return { failed: true, settledAt: performance.now() }
    }
  })
  await waitFor(() => target.counters.get('GET /hang') === CALLS, { message: `${CALLS} calls at the target` })
  return calls
}

describe('connection lost mid-call', () => {
  test('an RST between agent and cloud fails every caller at once with 502 BRIDGE_DISCONNECTED; the agent aborts and leaks nothing', async (t) => {
    const [cloud, target] = await Promise.all([startCloud(), startTarget()])
    const relay = await relayTo(cloud)
    const agent = await startAgent({ agentUrl: relay.url('ws', '/agent') })
    const pid = agent.proc.child.pid!
    const baseline = openFds(pid)
    const calls = await hangingCalls(cloud, target)
    t.diagnostic(`agent fds: ${baseline} at rest, ${openFds(pid)} with ${CALLS} calls in flight`)
    const lostAt = performance.now()
    relay.closeAll('rst')
    for (const outcome of await Promise.all(calls)) {
      assert.deepEqual([outcome.status, outcome.code], [502, 'BRIDGE_DISCONNECTED'])
      assert.ok(outcome.settledAt - lostAt < 3_000, `a caller waited ${Math.round(outcome.settledAt - lostAt)} ms`)
    }
    await waitFor(() => target.counters.get('closed GET /hang') === CALLS, { timeoutMs: 3_000, message: 'the agent aborting the target requests' })
    await agent.waitConnected(10_000, 2)
    await waitFor(() => openFds(pid) <= baseline, { timeoutMs: 10_000, message: `agent fds back to ${baseline}` })
  })

  test('a killed cloud makes the agent abort the calls of the lost session; it reconnects without leaking', async (t) => {
    const [cloud, target] = await Promise.all([startCloud(), startTarget()])
    const agent = await startAgent(cloud)
    const pid = agent.proc.child.pid!
    const baseline = openFds(pid)
    const calls = await hangingCalls(cloud, target)
    t.diagnostic(`agent fds: ${baseline} at rest, ${openFds(pid)} with ${CALLS} calls in flight`)
    const killedAt = performance.now()
    await cloud.proc.stop('SIGKILL')
    for (const outcome of await Promise.all(calls)) assert.ok(outcome.failed === true || outcome.status === 502, JSON.stringify(outcome))
    await waitFor(() => target.counters.get('closed GET /hang') === CALLS, { timeoutMs: 3_000, message: 'the agent aborting the target requests' })
    assert.ok(performance.now() - killedAt < 3_000)
    const next = await startCloud({ port: cloud.port })
    await agent.waitConnected(10_000, 2)
    await waitFor(async () => (await next.bridges()).length === 1, { message: 'the bridge listed by the new cloud' })
    await waitFor(() => openFds(pid) <= baseline, { timeoutMs: 10_000, message: `agent fds back to ${baseline}` })
  })
})
