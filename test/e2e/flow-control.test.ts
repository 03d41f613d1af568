/**
 * End to end: per-stream flow control with real processes. A relay download whose client never
 * reads must not stall other streams, and must not make the agent buffer the target's body: the
 * agent only reads as far as the cloud's credit allows, so its resident memory stays within a
 * few windows of its baseline however large the stalled body is.
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { get } from 'node:http'
import type { IncomingMessage } from 'node:http'
import { after, before, test } from 'node:test'
import { setTimeout as delay } from 'node:timers/promises'
import { sampleChildRss } from '../support/resources.js'
import { digestBody, expectedSha256 } from '../support/target-server.js'
import type { SampleTarget } from '../support/target-server.js'
import { cleanup, startAgent, startCloud, startTarget, waitFor } from './harness.js'
import type { Agent, Cloud } from './harness.js'

const MiB = 1024 * 1024
/** What the agent may hold above its baseline while a 200 MiB stream is stalled, in bytes. */
const RSS_ALLOWANCE = 64 * MiB
/** How long the stalled stream is watched; unchecked, the agent would read ~100 MB/s from the target. */
const WATCH_MS = 2_000

let cloud: Cloud
let agent: Agent
let target: SampleTarget

before(async () => {
  [cloud, target] = await Promise.all([startCloud(), startTarget()])
  agent = await startAgent(cloud)
})

after(cleanup)

function relayUrl (path: string): string {
  return `${cloud.url}/api/relay?url=${encodeURIComponent(target.url + path)}`
}

function agentRss (): number {
  const rss = sampleChildRss(agent.proc.child.pid ?? 0)
  assert.ok(rss !== undefined, 'the agent is running')
  return rss
}

async function download (n: number, seed: string): Promise<void> {
  const res = await fetch(relayUrl(`/bytes?n=${n}&seed=${seed}`))
  assert.equal(res.status, 200)
  assert.ok(res.body !== null)
  assert.deepEqual(await digestBody(res.body), { bytes: n, sha256: expectedSha256(n, seed) })
}

test('a stalled reader does not block another stream nor grow the agent past its window', { timeout: 30_000 }, async () => {
  // Warm up (JIT, undici pool, buffers) so the baseline is the agent's steady state.
  await download(10 * MiB, 'warm-up')
  const baseline = agentRss()

  const stalledReq = get(relayUrl(`/bytes?n=${200 * MiB}&seed=stalled`))
  const [stalled] = await once(stalledReq, 'response') as [IncomingMessage]
  assert.equal(stalled.statusCode, 200)
  stalled.pause()
  let stalledError: Error | undefined
  stalled.once('error', (err) => { stalledError = err })
  stalledReq.on('error', () => {}) // destroy() at the end may surface here

  await download(10 * MiB, 'alongside')

  // Proving the agent does not keep reading takes a bounded watch, sampling as it goes.
  let peak = agentRss()
  const watchEnd = performance.now() + WATCH_MS
  while (performance.now() < watchEnd) {
    peak = Math.max(peak, agentRss())
    await delay(100)
  }
  assert.ok(peak - baseline < RSS_ALLOWANCE,
    `agent RSS grew by ${Math.round((peak - baseline) / MiB)} MiB (baseline ${Math.round(baseline / MiB)} MiB) while a stream was stalled`)
  assert.equal(stalled.complete, false, 'the stalled stream is still open')
  assert.equal(stalledError, undefined)
  assert.equal((await cloud.bridges())[0].inFlight, 1)

  stalledReq.destroy()
  await waitFor(async () => (await cloud.bridges())[0].inFlight === 0, { message: 'the stalled stream ends when its caller goes away' })
})
