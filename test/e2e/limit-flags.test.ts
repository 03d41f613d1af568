/** The header and message limits are configurable: --max-headers, --max-header-bytes, --max-message-bytes. */
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { cleanup, startAgent, startCloud, startTarget, type Cloud } from './harness.js'
import type { SampleTarget } from '../../agent/sample-target.js'

let cloud: Cloud
let target: SampleTarget

before(async () => {
  target = await startTarget()
  cloud = await startCloud({ args: ['--max-message-bytes', '8192'] })
  await startAgent(cloud, { allow: [`127.0.0.1:${target.port}`], args: ['--max-headers', '12', '--max-header-bytes', '2048', '--max-message-bytes', '8192'] })
})
after(async () => { await target.close(); await cleanup() })

function call (headers: Record<string, string>): Promise<Response> {
  return cloud.api('/api/call', { method: 'POST', body: JSON.stringify({ url: `${target.url}/headers`, headers }) })
}

test('a request within --max-headers passes; one over it is refused with 400', async () => {
  assert.equal((await call({ a: '1', b: '2' })).status, 200)
  const over = await call(Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`x-h${i}`, 'v'])))
  assert.equal(over.status, 400)
  assert.equal(over.headers.get('x-outbridge-error'), 'BAD_REQUEST')
})

test('a header block over --max-header-bytes is refused with 400', async () => {
  const res = await call({ 'x-big': 'v'.repeat(4096) })
  assert.equal(res.status, 400)
  assert.equal(res.headers.get('x-outbridge-error'), 'BAD_REQUEST')
})

test('with small WebSocket messages both ways, a large body still streams byte-exact', async () => {
  const res = await cloud.api(`/relay/_/http/127.0.0.1:${target.port}/bytes?n=300000`)
  assert.equal(res.status, 200)
  assert.equal((await res.arrayBuffer()).byteLength, 300_000)
  const up = await cloud.api(`/relay/_/http/127.0.0.1:${target.port}/sha256`, { method: 'POST', body: Buffer.alloc(200_000, 1) })
  assert.equal(((await up.json()) as { bytes: number }).bytes, 200_000)
})
