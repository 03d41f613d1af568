/** Following redirects per call: `followRedirects` in /api/call, `x-outbridge-follow-redirects` on the relay. */
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { cleanup, startAgent, startCloud, startTarget, type Cloud } from './harness.js'
import type { SampleTarget } from '../../agent/sample-target.js'

let cloud: Cloud
let target: SampleTarget

before(async () => {
  target = await startTarget()
  cloud = await startCloud()
  await startAgent(cloud, { allow: [`127.0.0.1:${target.port}`] })
})
after(async () => { await target.close(); await cleanup() })

async function call (body: Record<string, unknown>): Promise<{ status: number, body: string }> {
  const res = await cloud.api('/api/call', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  assert.equal(res.status, 200)
  return await res.json() as { status: number, body: string }
}

test('a call asking to follow redirects gets the final answer; without it, the 302', async () => {
  const url = `${target.url}/redirect?to=/hello`
  assert.equal((await call({ url })).status, 302)
  const followed = await call({ url, followRedirects: true })
  assert.equal(followed.status, 200)
  assert.match(followed.body, /hello from the private network/)
})

test('a followed redirect outside the rules is refused, and its target never sees a request', async () => {
  const res = await cloud.api('/api/call', { method: 'POST', body: JSON.stringify({ url: `${target.url}/redirect?to=${encodeURIComponent('http://127.0.0.1:1/x')}`, followRedirects: true }) })
  assert.equal(res.status, 403)
  assert.equal(res.headers.get('x-outbridge-error'), 'FORBIDDEN_TARGET')
})

test('the relay follows when asked by header', async () => {
  const res = await cloud.api(`/relay/_/http/127.0.0.1:${target.port}/redirect?to=/hello`, { headers: { 'x-outbridge-follow-redirects': '1' } })
  assert.equal(res.status, 200)
  assert.match(await res.text(), /hello from the private network/)
})

test('a non-boolean followRedirects is a bad request', async () => {
  const res = await cloud.api('/api/call', { method: 'POST', body: JSON.stringify({ url: `${target.url}/hello`, followRedirects: 'yes' }) })
  assert.equal(res.status, 400)
  assert.equal(res.headers.get('x-outbridge-error'), 'BAD_REQUEST')
})
