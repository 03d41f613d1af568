/**
 * Chaos: many concurrent calls through one bridge. The target holds every answer until all the
 * calls have arrived, so they are provably in flight at once; each answer is 1 KiB derived from
 * its own seed, so a mixed-up answer fails its checksum. With `--max-streams` below the count,
 * the calls over the limit must be refused at once with TOO_MANY_STREAMS while the admitted ones
 * are still held: refused, never queued. The target runs in a process of its own: at full size
 * its 10,000 sockets and the callers' 10,000 would not fit in one process's descriptor limit.
 */
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { after, before, test } from 'node:test'
import { expectedSha256 } from '../support/target-server.js'
import { cleanup, startAgent, startCloud, waitFor } from '../e2e/harness.js'
import type { Agent, Cloud } from '../e2e/harness.js'
import { describe, isError, outcomeOf, relayUrl } from './calls.js'
import type { Outcome } from './calls.js'
import { AGENT_ARGS, CLOUD_ARGS, SCALE, caseTimeout } from './chaos-config.js'
import { GATE_ANSWER_BYTES } from './chaos-target.js'
import { highWaterOf, mib, watchRss } from './probes.js'
import { startRemoteTarget } from './remote-target.js'
import type { RemoteTarget } from './remote-target.js'

const N = SCALE.manyCalls
const LIMIT = SCALE.smallStreamLimit
/** Resident memory allowed to the agent and to the cloud, in bytes (400 MB). */
const RSS_LIMIT = 400_000_000
const TIMEOUT = caseTimeout(60_000, 300_000)

let cloud: Cloud
let target: RemoteTarget | undefined
let wide: Agent

before(async () => {
  // Short heartbeats, as in every chaos case: a burst of calls must not stall either loop long
  // enough to pass for a dead link (it did, before the agent started calls a slice at a time).
  const started = await Promise.all([startCloud({ args: [...CLOUD_ARGS] }), startRemoteTarget()])
  cloud = started[0]
  target = started[1]
  ;[wide] = await Promise.all([
    startAgent(cloud, { name: 'wide', args: [...AGENT_ARGS, '--max-streams', String(N)] }),
    startAgent(cloud, { name: 'narrow', args: [...AGENT_ARGS, '--max-streams', String(LIMIT)] })
  ])
})
after(async () => {
  await target?.stop()
  await cleanup()
})

/** The warning and error lines of the agent and the cloud, for failure messages. */
function warnings (agent: Agent, of: Cloud): string {
  const lines = [...agent.proc.json().map((line) => ['agent', line] as const), ...of.proc.json().map((line) => ['cloud', line] as const)]
  return lines.filter(([, line]) => Number(line.level) >= 40).map(([who, line]) => `${who}: ${JSON.stringify(line)}`).slice(0, 20).join('\n')
}

function gateCall (bridge: string, group: string, seed: string, until = 0): Promise<Outcome> {
  return outcomeOf(relayUrl(cloud, (target as RemoteTarget).port, `/gate?g=${group}&seed=${seed}${until > 0 ? `&until=${until}` : ''}`, bridge))
}

/** Indexes of outcomes that are not the 200 and the bytes of seed `prefix + index`, with why. */
function wrongAnswers (outcomes: ReadonlyArray<readonly [number, Outcome]>, prefix: string): string[] {
  const wrong: string[] = []
  for (const [i, outcome] of outcomes) {
    const sha256 = outcome.body === undefined ? '' : createHash('sha256').update(outcome.body).digest('hex')
    if (outcome.status !== 200) wrong.push(`#${i}: ${describe(outcome)}`)
    else if (sha256 !== expectedSha256(GATE_ANSWER_BYTES, `${prefix}${i}`)) wrong.push(`#${i}: ${outcome.body?.byteLength} bytes, not its own`)
  }
  return wrong
}

test(`${N} concurrent calls with 1 KiB answers, all in flight at once: every answer is its own; agent and cloud RSS under 400 MB`, { timeout: TIMEOUT }, async (t) => {
  const agentRss = watchRss(wide.proc.child.pid!, 250)
  const cloudRss = watchRss(cloud.proc.child.pid!, 250)
  const startedAt = performance.now()
  const outcomes = await Promise.all(Array.from({ length: N }, (_, i) => gateCall('wide', 'all', `all-${i}`, N)))
  const ms = performance.now() - startedAt
  const agentPeak = Math.max(agentRss.stop(), highWaterOf(wide.proc.child.pid!))
  const cloudPeak = Math.max(cloudRss.stop(), highWaterOf(cloud.proc.child.pid!))
  const gate = await (target as RemoteTarget).gate('all')
  t.diagnostic(`${N} calls in ${Math.round(ms)} ms, ${gate.peak} held at the target at once; peak RSS agent ${mib(agentPeak)} MiB, cloud ${mib(cloudPeak)} MiB`)
  const wrong = wrongAnswers([...outcomes.entries()], 'all-')
  assert.deepEqual(wrong.slice(0, 10), [], `${wrong.length} of ${N} calls did not get their own answer; warnings:\n${warnings(wide, cloud)}`)
  assert.equal(gate.peak, N, 'every call was at the target at the same time')
  assert.ok(agentPeak < RSS_LIMIT, `agent RSS peaked at ${mib(agentPeak)} MiB`)
  assert.ok(cloudPeak < RSS_LIMIT, `cloud RSS peaked at ${mib(cloudPeak)} MiB`)
})

test(`with --max-streams ${LIMIT}, of ${N} calls at once ${LIMIT} run and ${N - LIMIT} are refused at once with 503 TOO_MANY_STREAMS, never queued`, { timeout: TIMEOUT }, async (t) => {
  const remote = target as RemoteTarget
  const settled: Array<readonly [number, Outcome]> = []
  const startedAt = performance.now()
  const calls = Array.from({ length: N }, (_, i) => gateCall('narrow', 'limit', `limit-${i}`).then((outcome) => {
    settled.push([i, outcome])
    return outcome
  }))
  // The admitted calls are held at the target until released below: every refusal that arrives
  // before then was not waiting for a slot to free up.
  await waitFor(async () => settled.length >= N - LIMIT && (await remote.gate('limit')).held >= LIMIT,
    { timeoutMs: TIMEOUT / 2, intervalMs: 50, message: `${LIMIT} calls held and the rest answered` })
  const refusedMs = Math.max(...settled.map(([, outcome]) => outcome.at)) - startedAt
  const beforeRelease = [...settled]
  const gate = await remote.gate('limit')
  await remote.release('limit')
  const outcomes = await Promise.all(calls)
  t.diagnostic(`${N - LIMIT} refusals all in within ${Math.round(refusedMs)} ms of the first call, while ${gate.held} calls were held (peak ${gate.peak})`)

  const refused = beforeRelease.filter(([, outcome]) => isError(outcome, 503, 'TOO_MANY_STREAMS'))
  assert.equal(refused.length, N - LIMIT, `answered before the release: ${[...new Set(beforeRelease.map(([, o]) => describe(o)))].join(', ')}`)
  assert.equal(gate.peak, LIMIT, 'never more calls at the target than --max-streams')
  const admitted = outcomes.flatMap((outcome, i) => isError(outcome, 503, 'TOO_MANY_STREAMS') ? [] : [[i, outcome] as const])
  assert.equal(admitted.length, LIMIT)
  const wrong = wrongAnswers(admitted, 'limit-')
  assert.deepEqual(wrong.slice(0, 10), [], `${wrong.length} admitted calls did not get their own answer`)
})
