import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { request } from 'node:http'
import type { IncomingMessage } from 'node:http'
import { once } from 'node:events'
import { createServer } from 'node:net'
import { after, before, test } from 'node:test'
import { waitFor } from '../e2e/harness.js'
import { ResourceLeakError, snapshotResources, waitForBaseline } from './resources.js'
import { deterministicBytes, deterministicChunks, digestBody, expectedSha256, startSampleTarget } from './target-server.js'
import type { SampleTarget } from './target-server.js'

let target: SampleTarget
before(async () => { target = await startSampleTarget() })
after(() => target.close())

function get (path: string, init?: RequestInit): Promise<Response> {
  return fetch(target.url + path, init)
}

test('deterministic bytes depend on n and seed, not on the chunk size', () => {
  const whole = deterministicBytes(100_003, 7)
  assert.deepEqual(Buffer.concat([...deterministicChunks(100_003, 7, 999)]), whole)
  assert.deepEqual(Buffer.concat([...deterministicChunks(100_003, '7', 1)]).subarray(0, 10), whole.subarray(0, 10))
  assert.notDeepEqual(deterministicBytes(64, 8), whole.subarray(0, 64))
  assert.equal(expectedSha256(100_003, 7), createHash('sha256').update(whole).digest('hex'))
  assert.throws(() => deterministicChunks(1, 0, 0).next(), RangeError)
})

test('GET /hello answers text with x-sample and is counted', async () => {
  const res = await get('/hello')
  assert.equal(res.status, 200)
  assert.equal(res.headers.get('x-sample'), '1')
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain/)
  assert.equal(await res.text(), 'hello from the private network\n')
  assert.equal(target.counters.get('GET /hello'), 1)
})

test('GET /json answers JSON', async () => {
  const res = await get('/json')
  assert.equal(res.headers.get('content-type'), 'application/json')
  const body = await res.json() as { ok: boolean, items: unknown[] }
  assert.equal(body.ok, true)
  assert.equal(body.items.length, 3)
})

test('/echo starts answering before the request body ends and streams it back', { timeout: 10_000 }, async () => {
  const req = request(`${target.url}/echo?x=1`, { method: 'PUT', headers: { 'content-type': 'application/x-test', 'x-custom': 'a' } })
  req.flushHeaders()
  const [res] = await once(req, 'response') as [IncomingMessage]
  assert.equal(res.headers['x-request-method'], 'PUT')
  assert.equal(res.headers['x-request-path'], '/echo?x=1')
  assert.equal(res.headers['x-request-host'], `127.0.0.1:${target.port}`)
  assert.equal(res.headers['content-type'], 'application/x-test')
  assert.ok(res.headers['x-request-header-names']?.toString().split(',').includes('x-custom'))
  const digest = digestBody(res)
  for (const chunk of deterministicChunks(3_000_000, 3)) if (!req.write(chunk)) await once(req, 'drain')
  req.end()
  assert.deepEqual(await digest, { bytes: 3_000_000, sha256: expectedSha256(3_000_000, 3) })
})

test('GET /bytes streams n seeded bytes under content-length n', async () => {
  const res = await get('/bytes?n=1000003&chunk=1000&seed=9')
  assert.equal(res.headers.get('content-length'), '1000003')
  assert.deepEqual(await digestBody(res.body!), { bytes: 1_000_003, sha256: expectedSha256(1_000_003, 9) })
  assert.equal((await get('/bytes?n=-1')).status, 400)
  assert.equal((await get('/bytes?n=10&chunk=0')).status, 400)
})

test('POST /sha256 digests the body', async () => {
  const res = await get('/sha256', { method: 'POST', body: deterministicBytes(200_000, 4) })
  assert.deepEqual(await res.json(), { bytes: 200_000, sha256: expectedSha256(200_000, 4) })
  assert.equal((await get('/sha256')).status, 405)
})

test('GET /status/:code answers that status with an empty body', async () => {
  for (const code of [200, 204, 418, 503]) {
    const res = await get(`/status/${code}`)
    assert.equal(res.status, code)
    assert.equal(await res.text(), '')
  }
  assert.equal((await get('/status/99')).status, 400)
  assert.equal((await get('/status/abc')).status, 400)
})

test('GET /slow waits before answering', async () => {
  const started = performance.now()
  const res = await get('/slow?ms=60')
  assert.equal(res.status, 200)
  await res.text()
  assert.ok(performance.now() - started >= 55)
})

test('GET /hang never answers and counts the client giving up', async () => {
  const controller = new AbortController()
  const answer = get('/hang', { signal: controller.signal })
  await waitFor(() => target.counters.get('GET /hang') === 1)
  controller.abort()
  await assert.rejects(answer, { name: 'AbortError' })
  await waitFor(() => target.counters.get('closed GET /hang') === 1)
})

test('GET /trickle sends one byte at a time', async () => {
  const res = await get('/trickle?n=5&ms=5')
  assert.equal(res.headers.get('content-length'), '5')
  assert.equal(await res.text(), 'abcde')
})

test('GET /reset-mid-body ends short of its content-length', async () => {
  const res = await get('/reset-mid-body')
  assert.equal(res.status, 200)
  await assert.rejects(res.arrayBuffer())
})

test('GET /headers echoes request headers with lower-case names', async () => {
  const body = await (await get('/headers', { headers: { 'X-Mixed-Case': 'v' } })).json() as Record<string, string>
  assert.equal(body['x-mixed-case'], 'v')
})

test('GET /redirect answers 302 with the location', async () => {
  const res = await get('/redirect?to=%2Fhello', { redirect: 'manual' })
  assert.equal(res.status, 302)
  assert.equal(res.headers.get('location'), '/hello')
  assert.equal((await get('/redirect')).status, 400)
})

test('GET /pages links each page to the next, the last to none', async () => {
  const first = await get('/pages?page=1&pages=2')
  assert.equal(first.headers.get('link'), '</pages?page=2&pages=2>; rel="next"')
  assert.deepEqual(await first.json(), { page: 1, items: [{ id: 1 }, { id: 2 }, { id: 3 }], next: '/pages?page=2&pages=2' })
  const last = await get('/pages?page=2&pages=2')
  assert.equal(last.headers.get('link'), null)
  assert.deepEqual(await last.json(), { page: 2, items: [{ id: 4 }, { id: 5 }, { id: 6 }], next: null })
})

test('unknown paths are 404, wrong methods 405 with Allow', async () => {
  assert.equal((await get('/nope')).status, 404)
  const res = await get('/hello', { method: 'DELETE' })
  assert.equal(res.status, 405)
  assert.equal(res.headers.get('allow'), 'GET, HEAD')
})

test('close() ends busy connections and leaves no handle behind', async () => {
  const baseline = snapshotResources()
  const other = await startSampleTarget()
  const hung = request(`${other.url}/hang`).end()
  hung.on('error', () => {})
  await waitFor(() => other.counters.get('GET /hang') === 1)
  await other.close()
  await waitFor(() => other.counters.get('closed GET /hang') === 1)
  await waitForBaseline(baseline)
})

test('waitForBaseline names what stays open', async () => {
  const baseline = snapshotResources()
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  try {
    await assert.rejects(waitForBaseline(baseline, { timeoutMs: 100 }), (err: ResourceLeakError) => {
      assert.equal(err.code, 'ERR_RESOURCE_LEAK')
      assert.ok('TCPServerWrap' in err.diff)
      return true
    })
  } finally {
    server.close()
  }
})
