/**
 * Chaos: a large download and a large upload at the same time, each ending in a reader throttled
 * to a fixed rate (the relay client reads the download slowly; the target reads the upload
 * slowly). Flow control must carry the slow reader's pace back to the fast writer: neither the
 * agent nor the cloud may buffer what the reader has not taken (RSS stays under 150 MB), and the
 * tunnel must not stall either (throughput matches the throttle within 25%).
 *
 * Neither transfer names a timeout: an upload the target keeps reading must not time out,
 * however long it takes (the last case of this file pins that with a short call timeout), and
 * the cloud must not cut a request that lasts longer than Node's default 300 s either.
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { request } from 'node:http'
import type { ClientRequest, IncomingMessage } from 'node:http'
import { after, test } from 'node:test'
import { Readable } from 'node:stream'
import { deterministicChunks, expectedSha256 } from '../support/target-server.js'
import type { SampleTarget } from '../support/target-server.js'
import { cleanup, startAgent, startCloud, startTarget } from '../e2e/harness.js'
import type { Cloud } from '../e2e/harness.js'
import { relayUrl } from './calls.js'
import { AGENT_ARGS, CLOUD_ARGS, SCALE, caseTimeout } from './chaos-config.js'
import { startChaosTarget } from './chaos-target.js'
import type { ChaosTarget } from './chaos-target.js'
import { readPaced } from './paced-reader.js'
import type { PacedRead } from './paced-reader.js'
import { highWaterOf, mib, MiB, watchRss } from './probes.js'

const SIZE = SCALE.transferBytes
const RATE = SCALE.transferRate
/** Resident memory allowed to the agent and to the cloud, in bytes (150 MB). */
const RSS_LIMIT = 150_000_000
/** Throughput may differ from the throttle by this fraction. */
const TOLERANCE = 0.25

let chaosTarget: ChaosTarget | undefined
after(async () => {
  await chaosTarget?.close()
  await cleanup()
})

/** GETs `/bytes` through `/api/relay` and reads the answer at {@link RATE}. */
async function download (cloud: Cloud, target: SampleTarget): Promise<PacedRead> {
  const req = request(`${cloud.url}/api/relay?url=${encodeURIComponent(`${target.url}/bytes?n=${SIZE}&seed=down`)}`)
  req.end()
  const res = await responseOf(req)
  assert.equal(res.statusCode, 200)
  return await readPaced(res, RATE)
}

/** POSTs `size` bytes as fast as the tunnel takes them, through bridge `bridge`, to a target that reads at `rate`. */
async function upload (cloud: Cloud, target: ChaosTarget, how: { size: number, rate: number, bridge: string }): Promise<PacedRead> {
  const startedAt = performance.now()
  const req = request(relayUrl(cloud, target.port, `/sink?bps=${how.rate}`, how.bridge), { method: 'POST', headers: { 'content-length': how.size } })
  Readable.from(deterministicChunks(how.size, 'up'), { objectMode: false }).pipe(req)
  const res = await responseOf(req)
  const chunks: Buffer[] = []
  for await (const chunk of res as AsyncIterable<Buffer>) chunks.push(chunk)
  assert.equal(res.statusCode, 200, Buffer.concat(chunks).toString())
  const answer = JSON.parse(Buffer.concat(chunks).toString()) as { bytes: number, sha256: string }
  return { ...answer, ms: performance.now() - startedAt }
}

/** The response to `req`; rejects when the request fails first. Later request errors are left to the response's reader. */
async function responseOf (req: ClientRequest): Promise<IncomingMessage> {
  req.on('error', () => {}) // after the head, a reset shows on the response being read
  const [res] = await once(req, 'response') as [IncomingMessage]
  return res
}

function rateOf (read: PacedRead): number {
  return read.bytes / (read.ms / 1000)
}

test(`${mib(SIZE)} MiB down and ${mib(SIZE)} MiB up through readers throttled to ${mib(RATE)} MiB/s: RSS under 150 MB, throughput within 25% of the throttle`, { timeout: caseTimeout(60_000, 1_800_000) }, async (t) => {
  const [cloud, target, chaos] = await Promise.all([startCloud({ args: [...CLOUD_ARGS] }), startTarget(), startChaosTarget()])
  chaosTarget = chaos
  const agent = await startAgent(cloud, { name: 'throttled', args: [...AGENT_ARGS] })
  const agentRss = watchRss(agent.proc.child.pid!, 250)
  const cloudRss = watchRss(cloud.proc.child.pid!, 250)
  // Both run to their end whatever happens to the other, so a failure of one still measures the other.
  const [down, up] = await Promise.allSettled([
    download(cloud, target),
    upload(cloud, chaos, { size: SIZE, rate: RATE, bridge: 'throttled' })
  ])
  // The samples show the course; the kernel's high-water mark also catches a spike between them
  // (undici's parser being recompiled once took the agent to 146 MiB for about 100 ms).
  const agentPeak = Math.max(agentRss.stop(), highWaterOf(agent.proc.child.pid!))
  const cloudPeak = Math.max(cloudRss.stop(), highWaterOf(cloud.proc.child.pid!))

  for (const [what, read] of [['download', down], ['upload', up]] as const) {
    t.diagnostic(read.status === 'fulfilled'
      ? `${what}: ${mib(read.value.bytes)} MiB in ${(read.value.ms / 1000).toFixed(1)} s = ${mib(rateOf(read.value))} MiB/s (throttle ${mib(RATE)} MiB/s)`
      : `${what} failed: ${String(read.reason)}`)
  }
  t.diagnostic(`peak RSS: agent ${mib(agentPeak)} MiB (${agentRss.samples.length} samples), cloud ${mib(cloudPeak)} MiB`)
  assert.ok(agentPeak < RSS_LIMIT, `agent RSS peaked at ${mib(agentPeak)} MiB`)
  assert.ok(cloudPeak < RSS_LIMIT, `cloud RSS peaked at ${mib(cloudPeak)} MiB`)
  for (const [what, read, seed] of [['download', down, 'down'], ['upload', up, 'up']] as const) {
    if (read.status === 'rejected') throw read.reason
    assert.deepEqual({ bytes: read.value.bytes, sha256: read.value.sha256 }, { bytes: SIZE, sha256: expectedSha256(SIZE, seed) }, `the ${what} arrived whole and unchanged`)
    const ratio = rateOf(read.value) / RATE
    assert.ok(Math.abs(ratio - 1) <= TOLERANCE, `${what} ran at ${mib(rateOf(read.value))} MiB/s, ${Math.round(ratio * 100)}% of the throttle`)
  }
})

test('an upload that outlasts the call timeout, to a target that keeps reading it, gets the target\'s answer (not 504)', { timeout: 30_000 }, async (t) => {
  const cloud = await startCloud({ args: [...CLOUD_ARGS] })
  // Calls that name no timeout get 2 s; the upload below takes about 3 s, read steadily all along.
  await startAgent(cloud, { name: 'patient', args: [...AGENT_ARGS, '--request-timeout', '2000'] })
  const size = 12 * MiB
  const rate = 4 * MiB
  const up = await upload(cloud, chaosTarget as ChaosTarget, { size, rate, bridge: 'patient' })
  t.diagnostic(`${mib(up.bytes)} MiB in ${(up.ms / 1000).toFixed(1)} s`)
  assert.deepEqual({ bytes: up.bytes, sha256: up.sha256 }, { bytes: size, sha256: expectedSha256(size, 'up') })
})
