/**
 * Chaos: a fleet of bridges (a few swarm processes, many bridges each, every one built by the
 * product's own createBridge) connects at once, then the cloud is killed and restarted on the
 * same port. Every bridge must be listed again within 30 s of the new cloud, and the connection
 * rate must stay bounded: no more connections in any second than there are bridges, and a tenth
 * of the fleet at most connecting more than once in all (no storm of sessions that fail and are
 * retried). How crowded the reconnects are (per 10 ms, 100 ms, second) is reported; that the
 * jitter keeps a fleet out of lock step is asserted by test/e2e/reconnect.test.ts. Arrival
 * times are taken in front of the cloud (startConnectionLog), so a cloud busy with the herd
 * cannot make it look spread out.
 *
 * The bridges keep the default 10 s handshake timeout: with the 1 s of the other chaos cases, a
 * cloud that takes longer than that to answer 1,000 upgrades at once sees each abandoned attempt
 * come back as a new one (1,724 connections for 1,000 bridges when measured; RELIABILITY.md).
 */
import assert from 'node:assert/strict'
import { after, test } from 'node:test'
import { cleanup, startCloud, startConnectionLog, waitFor } from '../e2e/harness.js'
import type { Cloud, ConnectionLog } from '../e2e/harness.js'
import { CLOUD_ARGS, HEARTBEAT_MS, SCALE, caseTimeout } from './chaos-config.js'
import { densest } from './probes.js'
import { startSwarm } from './swarm.js'
import type { Swarm } from './swarm.js'

const N = SCALE.agents
/** Every bridge is back this soon after the new cloud is ready, in ms. */
const BACK_WITHIN_MS = 30_000
/** Connections reaching the new cloud, per bridge, at most: a few sessions may be refused and retried, not many. */
const MAX_CONNECTIONS_PER_BRIDGE = 1.1

let swarm: Swarm | undefined
let log: ConnectionLog | undefined
after(async () => {
  await swarm?.stop()
  await log?.close()
  await cleanup()
})

async function listed (cloud: Cloud): Promise<number> {
  return (await cloud.bridges()).filter((bridge) => bridge.state === 'open').length
}

/** The most arrivals in any second, as a figure for the report. */
function perSecond (times: readonly number[]): number {
  return densest(times, 1_000)
}

test(`${N} bridges connect at once, and all are back within 30 s of a cloud restart with a bounded connection rate`, { timeout: caseTimeout(60_000, 300_000) }, async (t) => {
  const cloud = await startCloud({ args: [...CLOUD_ARGS] })
  log = await startConnectionLog(cloud.port)
  swarm = await startSwarm({ agentUrl: log.agentUrl, count: N, processes: SCALE.swarmProcesses, prefix: 'fleet', heartbeatMs: HEARTBEAT_MS })
  swarm.go()
  const startedAt = swarm.startedAt ?? performance.now()
  await waitFor(async () => await listed(cloud) === N, { timeoutMs: BACK_WITHIN_MS, intervalMs: 100, message: `all ${N} bridges connected` })
  const upMs = performance.now() - startedAt
  const first = [...log.forwarded]
  t.diagnostic(`${N} bridges in ${SCALE.swarmProcesses} processes connected in ${Math.round(upMs)} ms: ${first.length} connections, at most ${perSecond(first)} in one second`)

  const killedAt = performance.now()
  await cloud.proc.stop('SIGKILL')
  const next = await startCloud({ port: cloud.port, args: [...CLOUD_ARGS] })
  const readyAt = performance.now()
  await waitFor(async () => await listed(next) === N, { timeoutMs: BACK_WITHIN_MS, intervalMs: 100, message: `all ${N} bridges back` })
  const backMs = performance.now() - readyAt
  const times = log.forwarded.slice(first.length)
  const spread = Math.max(...times) - Math.min(...times)
  const [per10, per100, per1000] = [densest(times, 10), densest(times, 100), perSecond(times)]
  t.diagnostic(`cloud down ${Math.round(readyAt - killedAt)} ms; all ${N} back ${Math.round(backMs)} ms after it was ready; ${times.length} connections over ${Math.round(spread)} ms: at most ${per10} in 10 ms, ${per100} in 100 ms, ${per1000} in one second`)
  assert.ok(per1000 <= N, `${per1000} connections within one second for ${N} bridges`)
  assert.ok(times.length <= N * MAX_CONNECTIONS_PER_BRIDGE, `${times.length} connections reached the new cloud for ${N} bridges`)
  assert.deepEqual(swarm.stderr, [], 'the swarm processes reported errors')
})
