import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { startSampleTarget } from '../../agent/sample-target.js'
import type { SampleTarget } from '../../agent/sample-target.js'
import { MIB, download, upload, uploadSha256 } from '../../bench/streaming.js'

let target: SampleTarget
before(async () => { target = await startSampleTarget() })
after(async () => { await target.close() })

test('downloads exactly the bytes asked for and reports the rate', async () => {
  const r = await download(`${target.url}/bytes?n=${3 * MIB + 5}`, 3 * MIB + 5, { timeoutMs: 10_000 })
  assert.equal(r.bytes, 3 * MIB + 5)
  assert.ok(r.seconds > 0 && Math.abs(r.mibPerSec - r.bytes / MIB / r.seconds) < 1e-9)
})

test('a download of the wrong length or status fails', async () => {
  await assert.rejects(download(`${target.url}/bytes?n=100`, 101, { timeoutMs: 10_000 }), /got 100 of 101 bytes/)
  await assert.rejects(download(`${target.url}/bytes?n=x`, 1, { timeoutMs: 10_000 }), /HTTP 400/)
})

test('a throttled download reads no faster than its rate', async () => {
  const r = await download(`${target.url}/bytes?n=${2 * MIB}`, 2 * MIB, { rateBytesPerSec: 4 * MIB, timeoutMs: 10_000 })
  assert.ok(r.seconds >= 0.45, `took ${r.seconds} s`)
})

test('uploads are checked against the byte count and SHA-256 the target answers', async () => {
  const bytes = 3 * MIB + 7
  const r = await upload(`${target.url}/sha256`, bytes, uploadSha256(bytes), 10_000)
  assert.equal(r.bytes, bytes)
  await assert.rejects(upload(`${target.url}/sha256`, bytes, uploadSha256(bytes - 1), 10_000), /target got/)
})
