/**
 * End to end: the mock cloud goes away (SIGTERM: orderly GOAWAY; SIGKILL: the socket just dies)
 * and comes back on the same port. A bridge must be listed again soon after the new cloud is
 * ready, and a fleet of bridges must come back spread out in time, not as one thundering herd.
 */
import assert from 'node:assert/strict'
import { after, test } from 'node:test'
import { cleanup, startAgent, startCloud, startConnectionLog, waitFor } from './harness.js'
import type { Agent, Cloud } from './harness.js'
import { densest } from '../chaos/probes.js'

/**
 * Real `outbridge agent` processes in the fleet test. Not 50: each agent is a whole Node process
 * that costs ~0.7 s of CPU to start and ~80 MB resident; on this 2-core machine, shared with
 * other test runs, 50 of them took 45-70 s just to come up (longer than this file's budget),
 * while 20 come up in ~10-20 s and still tell a spread from a herd.
 */
const FLEET_SIZE = 20
/** At most this many fleet reconnects may land in any {@link WINDOW_MS}; a herd puts nearly all of them there. */
const MAX_PER_WINDOW = 8
const WINDOW_MS = 50

after(cleanup)

/** The pino `time` (ms since the epoch) of each line of `cloud` whose msg includes `text`, in order. */
function lineTimes (cloud: Cloud, text: string): number[] {
  return cloud.proc.json()
    .filter((line) => typeof line.msg === 'string' && line.msg.includes(text))
    .map((line) => Date.parse(String(line.time)))
}

async function restart (cloud: Cloud, signal: NodeJS.Signals): Promise<Cloud> {
  const code = await cloud.proc.stop(signal)
  if (signal === 'SIGTERM') assert.equal(code, 0, 'the mock cloud exits 0 on SIGTERM')
  return await startCloud({ port: cloud.port })
}

for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
  test(`after a cloud ${signal} and a restart on the same port, the bridge is listed again within 2 s`, async (t) => {
    const cloud = await startCloud()
    const agent = await startAgent(cloud, { name: `restart-${signal}` })
    const stoppedAt = Date.now()
    const next = await restart(cloud, signal)
    await next.proc.waitForLine((line) => line.includes('"bridge connected"'), 10_000)
    const [readyAt] = lineTimes(next, 'listening on')
    const [connectedAt] = lineTimes(next, 'bridge connected')
    t.diagnostic(`cloud down for ${readyAt - stoppedAt} ms; bridge listed ${connectedAt - readyAt} ms after it was back`)
    assert.ok(connectedAt - readyAt <= 2_000, `listed ${connectedAt - readyAt} ms after the new cloud was ready (down ${readyAt - stoppedAt} ms)`)
    const names = (await next.bridges()).map((bridge) => bridge.name)
    assert.deepEqual(names, [`restart-${signal}`])
    await agent.waitConnected(5_000, 2)
    await next.stop()
  })
}

test(`${FLEET_SIZE} agents reconnect spread out in time after a cloud restart`, { timeout: 60_000 }, async (t) => {
  const cloud = await startCloud()
  // Arrival times are taken in front of the cloud: a cloud busy starting up (or starved of CPU)
  // would log a spread-out fleet as a burst.
  const arrivals = await startConnectionLog(cloud.port)
  t.after(() => arrivals.close())
  const spawnedAt = performance.now()
  const fleet: Agent[] = await Promise.all(Array.from({ length: FLEET_SIZE }, (_, i) =>
    startAgent(arrivals, { name: `fleet-${i}`, waitConnected: false })))
  await Promise.all(fleet.map((agent) => agent.waitConnected(40_000)))
  await waitFor(async () => (await cloud.bridges()).length === FLEET_SIZE, { message: 'every bridge listed' })
  t.diagnostic(`the fleet came up in ${Math.round(performance.now() - spawnedAt)} ms`)
  const before = arrivals.forwarded.length

  // SIGKILL: every bridge loses its socket at the same instant, the worst case for a herd.
  const next = await restart(cloud, 'SIGKILL')
  await waitFor(async () => (await next.bridges()).length === FLEET_SIZE, { timeoutMs: 20_000, intervalMs: 100, message: 'the whole fleet back' })
  const times = arrivals.forwarded.slice(before)
  assert.ok(times.length >= FLEET_SIZE, `${times.length} connections reached the new cloud`)
  const spread = Math.round(Math.max(...times) - Math.min(...times))
  const crowd = densest(times, WINDOW_MS)
  t.diagnostic(`reconnects spread over ${spread} ms, at most ${crowd} in ${WINDOW_MS} ms`)
  assert.ok(spread > 300, `the fleet came back within ${spread} ms: in lock step`)
  assert.ok(crowd <= MAX_PER_WINDOW, `${crowd} of ${FLEET_SIZE} bridges came back within ${WINDOW_MS} ms (spread ${spread} ms)`)
})
