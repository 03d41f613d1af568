import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { startSampleTarget } from '../../agent/sample-target.js'
import type { SampleTarget } from '../../agent/sample-target.js'
import { measureBackpressure } from '../../bench/backpressure.js'
import { MIB } from '../../bench/streaming.js'

let target: SampleTarget
before(async () => { target = await startSampleTarget() })
after(async () => { await target.close() })

test('a throttled download reports memory at every 10% and calls it flat', async () => {
  const path = { name: 'outbridge' as const, baseUrl: target.url, agentPid: process.pid, cloudPid: process.pid }
  const r = await measureBackpressure(path, 8 * MIB, 40 * MIB)
  assert.equal(r.error, undefined)
  assert.ok((r.seconds ?? 0) >= 0.15, `took ${r.seconds} s`)
  assert.deepEqual(r.timeline.map((p) => p.percent), [10, 20, 30, 40, 50, 60, 70, 80, 90, 100])
  assert.ok((r.agent?.maxMiB ?? 0) >= (r.agent?.minMiB ?? 1))
  assert.equal(r.flat, true)
})

test('a failed transfer is reported, not thrown, and is never flat', async () => {
  const path = { name: 'outbridge' as const, baseUrl: `${target.url}/nope`, agentPid: process.pid, cloudPid: process.pid }
  const r = await measureBackpressure(path, MIB, 10 * MIB)
  assert.match(r.error ?? '', /HTTP 404/)
  assert.equal(r.flat, false)
})

test('a path without agent and cloud processes is refused', async () => {
  await assert.rejects(measureBackpressure({ name: 'direct', baseUrl: target.url }, MIB, MIB), /no agent and cloud/)
})
