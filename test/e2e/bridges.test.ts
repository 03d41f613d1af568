/**
 * Several bridges of one client form a group: the mock cloud lists each with its state and
 * round-trip time, spreads calls across them (least in-flight), pins a call to a name, keeps new
 * calls succeeding while one bridge drains, and fails over when one is killed. The steps share
 * one cloud and run in order; each leaves the bridges a-b-c or a-b(-d) as the next expects.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { SampleTarget } from '../../agent/sample-target.js'
import { cleanup, startAgent, startCloud, startTarget, waitFor } from './harness.js'
import type { Agent, Cloud } from './harness.js'

const HELLO = 'hello from the private network\n'

interface Answer {
  /** HTTP status of /api/call itself. */
  readonly http: number
  /** The bridge that carried it (x-outbridge-bridge). */
  readonly bridge: string | null
  readonly status?: number
  readonly body?: string
  readonly code?: string
}

let cloud: Cloud
let target: SampleTarget
const agents = new Map<string, Agent>()

async function call (path: string, bridge?: string): Promise<Answer> {
  const res = await cloud.api('/api/call', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ url: `${target.url}${path}`, bridge })
  })
  const json = await res.json() as { status?: number, body?: string, error?: { code: string } }
  return { http: res.status, bridge: res.headers.get('x-outbridge-bridge'), status: json.status, body: json.body, code: json.error?.code }
}

/** Runs `total` calls of /hello, `concurrency` at a time; returns every answer. */
async function helloCalls (total: number, concurrency: number, bridge?: string): Promise<Answer[]> {
  const answers: Answer[] = []
  let started = 0
  async function worker (): Promise<void> {
    while (started < total) {
      started++
      answers.push(await call('/hello', bridge))
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  return answers
}

function assertAllHello (answers: readonly Answer[]): void {
  const failed = answers.filter((a) => a.http !== 200 || a.status !== 200 || a.body !== HELLO)
  assert.deepEqual(failed, [], `${failed.length} of ${answers.length} calls failed`)
}

function countBy (answers: readonly Answer[]): Map<string | null, number> {
  const out = new Map<string | null, number>()
  for (const a of answers) out.set(a.bridge, (out.get(a.bridge) ?? 0) + 1)
  return out
}

async function start (name: string): Promise<void> {
  agents.set(name, await startAgent(cloud, { name }))
}

async function bridgeNames (): Promise<string[]> {
  return (await cloud.bridges()).map((b) => String(b.name)).sort()
}

before(async () => {
  [cloud, target] = await Promise.all([startCloud({ args: ['--heartbeat-interval', '1000'] }), startTarget()])
  await Promise.all(['bridge-a', 'bridge-b', 'bridge-c'].map(start))
})

after(cleanup)

describe('several bridges of one client', () => {
  test('each is listed with CONTRACT\'s fields, its state and its round-trip time', async () => {
    const bridges = await waitFor(async () => {
      const list = await cloud.bridges()
      return list.length === 3 && list.every((b) => typeof b.rttMs === 'number') ? list : undefined
    }, { message: 'three bridges with an RTT' })
    assert.deepEqual(bridges.map((b) => b.name).sort(), ['bridge-a', 'bridge-b', 'bridge-c'])
    for (const b of bridges) {
      assert.equal(b.clientId, 'acc-1')
      assert.equal(b.state, 'open')
      assert.equal(b.inFlight, 0)
      assert.match(String(b.version), /^\d+\.\d+\.\d+/)
      assert.ok(!Number.isNaN(Date.parse(String(b.connectedAt))))
      assert.ok((b.rttMs as number) >= 0)
    }
  })

  test('300 calls without a bridge spread across all three; a name pins', async () => {
    const answers = await helloCalls(300, 12)
    assertAllHello(answers)
    const spread = countBy(answers)
    assert.deepEqual([...spread.keys()].sort(), ['bridge-a', 'bridge-b', 'bridge-c'])
    for (const [name, n] of spread) assert.ok(n >= 45, `${name} carried ${n} of 300 calls`)
    const pinned = await helloCalls(30, 6, 'bridge-b')
    assertAllHello(pinned)
    assert.deepEqual([...countBy(pinned).keys()], ['bridge-b'])
  })

  test('bridges sharing a name are a group too: both listed, both carry calls', async () => {
    const pair = await Promise.all([startAgent(cloud, { name: 'twin' }), startAgent(cloud, { name: 'twin' })])
    const twins = (await cloud.bridges()).filter((b) => b.name === 'twin')
    assert.equal(twins.length, 2)
    assertAllHello(await helloCalls(40, 4, 'twin'))
    const res = await cloud.api('/api/calls?limit=40')
    const calls = await res.json() as Array<{ bridge: string, session: string }>
    const bySession = new Map<string, number>()
    for (const c of calls) bySession.set(c.session, (bySession.get(c.session) ?? 0) + 1)
    assert.deepEqual([...bySession.keys()].sort(), twins.map((t) => String(t.session)).sort())
    for (const n of bySession.values()) assert.ok(n >= 10, `a twin carried only ${n} of 40 calls`)
    for (const code of await Promise.all(pair.map((agent) => agent.stop()))) assert.equal(code, 0)
    await waitFor(async () => (await bridgeNames()).join() === 'bridge-a,bridge-b,bridge-c', { message: 'twins gone' })
  })

  test('while one bridge drains, new calls keep succeeding with zero failures', async () => {
    // Slow calls keep bridge-c busy, so its SIGTERM drains (GOAWAY) instead of closing at once.
    const slow = Array.from({ length: 4 }, () => call('/slow?ms=1500', 'bridge-c'))
    await waitFor(async () => (await cloud.bridges()).find((b) => b.name === 'bridge-c')?.inFlight === 4, { message: 'slow calls in flight on bridge-c' })
    let loading = true
    const load: Answer[] = []
    const workers = Array.from({ length: 10 }, async () => {
      while (loading) load.push(await call('/hello'))
    })
    try {
      const exited = (agents.get('bridge-c') as Agent).stop('SIGTERM')
      await waitFor(async () => (await cloud.bridges()).find((b) => b.name === 'bridge-c')?.state === 'draining', { message: 'bridge-c draining' })
      assert.equal(await exited, 0)
      agents.delete('bridge-c')
      await waitFor(async () => (await bridgeNames()).join() === 'bridge-a,bridge-b', { message: 'bridge-c gone' })
      const afterExit = load.length
      await waitFor(() => load.length >= afterExit + 30, { message: 'calls after the drain' })
    } finally {
      loading = false
      await Promise.all(workers)
    }
    assertAllHello(load)
    assert.ok(load.length >= 60, `only ${load.length} calls during the drain`)
    for (const answer of await Promise.all(slow)) assert.deepEqual([answer.http, answer.status, answer.bridge], [200, 200, 'bridge-c'])
  })

  test('kill -9 of one of three: its calls fail with BRIDGE_DISCONNECTED, calls issued afterwards succeed', async () => {
    await start('bridge-d')
    const doomed = Array.from({ length: 3 }, () => call('/slow?ms=10000', 'bridge-d'))
    await waitFor(async () => (await cloud.bridges()).find((b) => b.name === 'bridge-d')?.inFlight === 3, { message: 'slow calls in flight on bridge-d' })
    await (agents.get('bridge-d') as Agent).stop('SIGKILL')
    for (const answer of await Promise.all(doomed)) assert.deepEqual([answer.http, answer.code], [502, 'BRIDGE_DISCONNECTED'])
    const answers = await helloCalls(60, 6)
    assertAllHello(answers)
    assert.deepEqual([...countBy(answers).keys()].sort(), ['bridge-a', 'bridge-b'])
    assert.deepEqual(await bridgeNames(), ['bridge-a', 'bridge-b'])
  })
})

