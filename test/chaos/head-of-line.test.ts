/**
 * Chaos: head-of-line blocking. One stream on the tunnel is stalled (a download whose client
 * stops reading, or an upload the target never reads) while batches of small calls run beside
 * it. The small calls' p99 latency must stay within 50 ms of their p99 without the stall. Each
 * round measures a batch without and a batch with the stall, and the medians over the rounds are
 * compared, so one hiccup of a shared 2-core machine does not decide the verdict either way.
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { request } from 'node:http'
import type { ClientRequest, IncomingMessage } from 'node:http'
import { after, before, test } from 'node:test'
import { deterministicBytes, digestBody, expectedSha256 } from '../support/target-server.js'
import type { SampleTarget } from '../support/target-server.js'
import { cleanup, startAgent, startCloud, startTarget, waitFor } from '../e2e/harness.js'
import type { Cloud } from '../e2e/harness.js'
import { relayUrl } from './calls.js'
import { AGENT_ARGS, CLOUD_ARGS, SCALE, caseTimeout } from './chaos-config.js'
import { startChaosTarget } from './chaos-target.js'
import type { ChaosTarget } from './chaos-target.js'
import { median, percentile } from './probes.js'

const CALLS = SCALE.smallCalls
/** Small calls in flight at once within a batch. */
const CONCURRENCY = 10
const ROUNDS = 3
/** The p99 with a stalled stream may exceed the p99 without by this much, in ms. */
const ALLOWED_MS = 50
const SMALL_BYTES = 1024
/** Bytes the stalled stream would carry if it were read: far more than every window on the way. */
const STALLED_BYTES = 1024 * 1024 * 1024

let cloud: Cloud
let target: SampleTarget
let chaos: ChaosTarget

before(async () => {
  [cloud, target, chaos] = await Promise.all([startCloud({ args: [...CLOUD_ARGS] }), startTarget(), startChaosTarget()])
  await startAgent(cloud, { name: 'hol', args: [...AGENT_ARGS] })
})
after(async () => {
  await chaos?.close()
  await cleanup()
})

/** Runs {@link CALLS} small relay calls, {@link CONCURRENCY} at a time, each checked; returns their p99 latency in ms. */
async function batch (round: string): Promise<number> {
  const latencies: number[] = []
  let next = 0
  async function worker (): Promise<void> {
    for (let i = next++; i < CALLS; i = next++) {
      const seed = `${round}-${i}`
      const startedAt = performance.now()
      const res = await fetch(`${cloud.url}/api/relay?url=${encodeURIComponent(`${target.url}/bytes?n=${SMALL_BYTES}&seed=${seed}`)}`)
      assert.equal(res.status, 200)
      assert.deepEqual(await digestBody(res.body!), { bytes: SMALL_BYTES, sha256: expectedSha256(SMALL_BYTES, seed) })
      latencies.push(performance.now() - startedAt)
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker))
  return percentile(latencies, 99)
}

/** A stalled stream: started, and filled up to every window on its way. */
interface Stall {
  /** The caller goes away. */
  leave (): void
  /** The caller goes away and the target drops the request: both ends are gone. */
  end (): void
}

/** A download of {@link STALLED_BYTES} whose client reads the head and then nothing. */
async function stalledDownload (): Promise<Stall> {
  const req = request(`${cloud.url}/api/relay?url=${encodeURIComponent(`${target.url}/bytes?n=${STALLED_BYTES}`)}`)
  req.on('error', () => {}) // ended by the test
  req.end()
  const [res] = await once(req, 'response') as [IncomingMessage]
  res.pause()
  await untilStill(() => req.socket?.bytesRead ?? 0)
  // The sample target notices a gone reader by itself: its writes fail.
  return { leave: () => req.destroy(), end: () => req.destroy() }
}

/** An upload of {@link STALLED_BYTES} to a target that never reads nor answers. */
async function stalledUpload (round: string): Promise<Stall> {
  const req: ClientRequest = request(relayUrl(cloud, chaos.port, `/once?id=stall-${round}&read=0`), { method: 'POST', headers: { 'content-length': STALLED_BYTES } })
  req.on('error', () => {}) // ended by the test
  const chunk = deterministicBytes(64 * 1024)
  let written = 0
  const pump = (): void => {
    while (written < STALLED_BYTES && req.write(chunk)) written += chunk.byteLength
  }
  req.on('drain', pump)
  pump()
  await untilStill(() => written)
  return {
    leave: () => req.destroy(),
    end () {
      req.destroy()
      chaos.drop(`stall-${round}`)
    }
  }
}

/** Waits until `progress()` has not moved for 300 ms: the stream is stalled. */
async function untilStill (progress: () => number): Promise<void> {
  let last = -1
  let since = performance.now()
  await waitFor(() => {
    const now = progress()
    if (now !== last) {
      last = now
      since = performance.now()
    }
    return performance.now() - since >= 300
  }, { timeoutMs: 10_000, intervalMs: 20, message: 'the stream stalling' })
}

for (const [key, kind, stall] of [['down', 'download whose reader stopped', stalledDownload], ['up', 'upload the target never reads', stalledUpload]] as const) {
  test(`beside a stalled ${kind}, the p99 of ${CALLS} small calls stays within ${ALLOWED_MS} ms of the p99 without it`, { timeout: caseTimeout(30_000, 60_000) }, async (t) => {
    await batch(`warm-${key}`)
    const without: number[] = []
    const beside: number[] = []
    for (let round = 0; round < ROUNDS; round++) {
      without.push(await batch(`free-${key}-${round}`))
      const stalled = await stall(`${round}`)
      try {
        assert.equal((await cloud.bridges())[0].inFlight, 1, 'the stalled stream is open')
        beside.push(await batch(`stalled-${key}-${round}`))
      } finally {
        stalled.end()
      }
      await waitFor(async () => (await cloud.bridges())[0].inFlight === 0, { message: 'the stalled stream closed' })
    }
    const [free, loaded] = [median(without), median(beside)]
    t.diagnostic(`p99 per round without the stall: ${without.map(Math.round).join(', ')} ms; beside it: ${beside.map(Math.round).join(', ')} ms; medians ${Math.round(free)} vs ${Math.round(loaded)} ms`)
    assert.ok(loaded - free <= ALLOWED_MS, `p99 ${Math.round(loaded)} ms beside the stall vs ${Math.round(free)} ms without`)
  })
}

// The cloud stops reading a relay upload that has no credit (that is the backpressure), and a
// socket that is not read cannot see its peer's FIN until the data queued in front of it is read.
// So the cloud probes a caller whose upload has been paused a while with interim `102 Processing`
// responses (mock-cloud/paused-upload.ts): a write to a connection whose peer is gone fails, and
// the call is cancelled then rather than at the call timeout (30 s + 5 s here).
test('a caller who leaves while its relay upload is stalled is noticed: the stream is let go within 5 s, not at the call timeout', { timeout: 30_000 }, async (t) => {
  const stalled = await stalledUpload('abandoned')
  const leftAt = performance.now()
  // Only the caller goes: the target stays there, holding the request unread, as a stuck system would.
  stalled.leave()
  await waitFor(async () => (await cloud.bridges())[0].inFlight === 0, { timeoutMs: 5_000, message: 'the abandoned stream let go' })
  const letGo = performance.now() - leftAt
  // The target, not reading either, cannot see the agent drop its request until it reads again.
  chaos.drain('stall-abandoned')
  await waitFor(() => chaos.closed('stall-abandoned') === 1, { timeoutMs: 5_000, message: 'the target request closed' })
  t.diagnostic(`let go ${Math.round(letGo)} ms after the caller left; the target, reading again, saw its request end ${Math.round(performance.now() - leftAt - letGo)} ms later`)
})
