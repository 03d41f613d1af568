/**
 * Chaos: the link between agent and cloud is black-holed (nothing forwarded, no FIN, no RST) with
 * calls in flight, and more calls are sent into the hole before anyone notices. Both sides must
 * notice within heartbeat + timeout + 1 s: the agent closes the target requests, the cloud
 * answers every caller 502 BRIDGE_DISCONNECTED. When the link heals, the bridge comes back and
 * nothing that was stuck in the hole reaches the target.
 */
import assert from 'node:assert/strict'
import { after, test } from 'node:test'
import { startTcpRelay } from '../support/tcp-relay.js'
import type { TcpRelay } from '../support/tcp-relay.js'
import { cleanup, startAgent, startCloud } from '../e2e/harness.js'
import { isError } from './calls.js'
import { AGENT_ARGS, CLOUD_ARGS, DEAD_AFTER_MS, HEARTBEAT_MS, SCALE, caseTimeout } from './chaos-config.js'
import { startChaosTarget } from './chaos-target.js'
import type { ChaosTarget } from './chaos-target.js'
import { assertFailedFast, assertNoReplay, backAt, closedAt, holdCalls, postOnce } from './fault-rig.js'

const N = SCALE.blackholeStreams
/** One heartbeat period, the dead-peer timeout, then 1 s for a loaded machine, in ms. */
const DETECT_WITHIN_MS = HEARTBEAT_MS + DEAD_AFTER_MS + 1_000
const BACK_WITHIN_MS = 5_000
/** Calls sent after the cut. */
const STUCK_IDS = Array.from({ length: 5 }, (_, i) => `stuck-${i}`)

let relay: TcpRelay | undefined
let target: ChaosTarget | undefined
after(async () => {
  await relay?.close()
  await target?.close()
  await cleanup()
})

function isHeartbeatWarning (line: string): boolean {
  const parsed = JSON.parse(line) as { level?: number, msg?: string }
  return parsed.level === 40 && /heartbeat/i.test(parsed.msg ?? '')
}

test(`a black-holed link with ${N} calls in flight is detected on both sides within heartbeat + timeout + 1 s; nothing stuck in it is delivered after it heals`, { timeout: caseTimeout(30_000, 60_000) }, async (t) => {
  const [cloud, chaosTarget] = await Promise.all([startCloud({ args: [...CLOUD_ARGS] }), startChaosTarget()])
  target = chaosTarget
  relay = await startTcpRelay({ host: '127.0.0.1', port: cloud.port })
  const agent = await startAgent({ agentUrl: relay.url('ws', '/agent') }, { name: 'blackholed', args: [...AGENT_ARGS] })
  const rig = { cloud, agent, name: 'blackholed' }
  const held = await holdCalls(rig, chaosTarget, 'held', N)

  const cutAt = performance.now()
  relay.setMode('blackhole')
  // Sent after the cut, before anyone can know: their REQUEST frames go into the hole.
  const stuck = STUCK_IDS.map((id) => postOnce(rig, chaosTarget, id))
  const agentNoticed = agent.proc.waitForLine(isHeartbeatWarning, DETECT_WITHIN_MS + 5_000).then(() => performance.now() - cutAt)
  const closed = await closedAt(chaosTarget, 'held', N, DETECT_WITHIN_MS) - cutAt
  const heldSlowest = assertFailedFast(await Promise.all(held), (o) => isError(o, 502, 'BRIDGE_DISCONNECTED'), cutAt, DETECT_WITHIN_MS)
  assertFailedFast(await Promise.all(stuck), (o) => isError(o, 502, 'BRIDGE_DISCONNECTED'), cutAt, DETECT_WITHIN_MS)
  const agentMs = await agentNoticed
  t.diagnostic(`agent: heartbeat warning after ${Math.round(agentMs)} ms, target requests closed after ${Math.round(closed)} ms; cloud: callers answered within ${Math.round(heldSlowest)} ms (bound ${DETECT_WITHIN_MS} ms)`)
  assert.ok(agentMs <= DETECT_WITHIN_MS, `the agent noticed after ${Math.round(agentMs)} ms`)

  const healAt = performance.now()
  relay.setMode('pass')
  const back = await backAt(rig, chaosTarget, 'held', BACK_WITHIN_MS) - healAt
  t.diagnostic(`calls flow again ${Math.round(back)} ms after the link healed (${relay.accepted} connections through the relay in all)`)
  await assertNoReplay(rig, chaosTarget, 'held', N)
  const delivered = STUCK_IDS.filter((id) => chaosTarget.count(id) > 0)
  assert.deepEqual(delivered, [], 'calls sent into the hole reached the target after it healed')
})
