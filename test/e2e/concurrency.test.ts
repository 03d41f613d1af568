/**
 * End to end: 200 requests at once through one bridge, a mix of `/api/call`, `/api/relay?url=`
 * and the path form, GET and POST, each with its own path and body, and every answer checked
 * against what that request (and no other) should get back.
 */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { deterministicBytes, digestBody, expectedSha256 } from '../support/target-server.js'
import type { SampleTarget } from '../support/target-server.js'
import { cleanup, startAgent, startCloud, startTarget, waitFor } from './harness.js'
import type { Cloud } from './harness.js'

const REQUESTS = 200

let cloud: Cloud
let target: SampleTarget

before(async () => {
  [cloud, target] = await Promise.all([startCloud(), startTarget()])
  await startAgent(cloud)
})

after(cleanup)

interface CallAnswer { status: number, headers: Record<string, string | string[]>, body: string, bodyEncoding?: string }

async function call (input: Record<string, unknown>): Promise<CallAnswer> {
  const res = await cloud.api('/api/call', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(input) })
  const text = await res.text()
  assert.equal(res.status, 200, text)
  return JSON.parse(text) as CallAnswer
}

/** `/api/call` POST of a text body unique to `i`, echoed back. */
async function callEcho (i: number): Promise<void> {
  const body = `request ${i} `.repeat(i + 1)
  const answer = await call({ method: 'POST', url: `${target.url}/echo?i=${i}`, body })
  assert.equal(answer.status, 200)
  assert.equal(answer.headers['x-request-path'], `/echo?i=${i}`)
  assert.equal(answer.body, body, `call echo ${i}`)
}

/** `/api/call` GET of page `i` of a paged list. */
async function callPage (i: number): Promise<void> {
  const answer = await call({ url: `${target.url}/pages?page=${i}&pages=${REQUESTS}` })
  const page = JSON.parse(answer.body) as { page: number, items: Array<{ id: number }> }
  assert.equal(page.page, i)
  assert.deepEqual(page.items.map((item) => item.id), [3 * i - 2, 3 * i - 1, 3 * i])
}

/** `/api/relay` GET of a body whose size and bytes depend on `i`. */
async function relayBytes (i: number): Promise<void> {
  const n = 10_000 + i * 997
  const res = await fetch(`${cloud.url}/api/relay?url=${encodeURIComponent(`${target.url}/bytes?n=${n}&seed=c${i}`)}`)
  assert.equal(res.status, 200)
  assert.ok(res.body !== null)
  assert.deepEqual(await digestBody(res.body), { bytes: n, sha256: expectedSha256(n, `c${i}`) }, `relay bytes ${i}`)
}

/** Path-form POST of a body unique to `i`, digested by the target. */
async function pathSha (i: number): Promise<void> {
  const n = 5_000 + i * 1_009
  const res = await fetch(`${cloud.url}/relay/_/http/127.0.0.1:${target.port}/sha256`, { method: 'POST', body: deterministicBytes(n, `u${i}`) })
  assert.equal(res.status, 200)
  assert.deepEqual(await res.json(), { bytes: n, sha256: expectedSha256(n, `u${i}`) }, `path sha256 ${i}`)
}

const KINDS = [callEcho, callPage, relayBytes, pathSha]

test(`${REQUESTS} concurrent calls and relays all get their own correct answer`, { timeout: 60_000 }, async () => {
  const results = await Promise.allSettled(Array.from({ length: REQUESTS }, (_, i) => KINDS[i % KINDS.length](i + 1)))
  const failures = results.flatMap((result, i) => result.status === 'rejected' ? [`#${i + 1} ${KINDS[i % KINDS.length].name}: ${String(result.reason)}`] : [])
  assert.equal(failures.length, 0, `${failures.length} of ${REQUESTS} failed, e.g.\n${failures.slice(0, 5).join('\n')}`)
  const bridges = await waitFor(async () => {
    const list = await cloud.bridges()
    return list.length === 1 && list[0].inFlight === 0 ? list : undefined
  }, { message: 'no call left in flight' })
  assert.equal(bridges[0].name, 'acc-1')
})
