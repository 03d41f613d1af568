/**
 * End to end: tunnel-level failures as the caller sees them, with real processes. Before the
 * response head, a failure is a status with `x-outbridge-error: CODE` and the JSON error body
 * (CONTRACT "Errors"); after it, the relayed stream is cut, never ended cleanly. A caller who
 * gives up reaches the target as a closed connection.
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { createServer, get } from 'node:http'
import type { IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, describe, test } from 'node:test'
import type { SampleTarget } from '../support/target-server.js'
import { cleanup, startAgent, startCloud, startTarget, waitFor } from './harness.js'
import type { Cloud } from './harness.js'

// Refused by the agent's rules (only 127.0.0.1 is allowed) before any connection is tried.
const FORBIDDEN = 'http://10.0.0.1/'

let cloud: Cloud
let target: SampleTarget
let closedPort: number

/** A loopback port that was just free and has nothing listening on it. */
async function findClosedPort (): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  server.close()
  await once(server, 'close')
  return port
}

before(async () => {
  [cloud, target, closedPort] = await Promise.all([startCloud(), startTarget(), findClosedPort()])
  await startAgent(cloud)
})

after(cleanup)

function postCall (body: string): Promise<Response> {
  return cloud.api('/api/call', { method: 'POST', headers: { 'content-type': 'application/json' }, body })
}

function call (input: Record<string, unknown>): Promise<Response> {
  return postCall(JSON.stringify(input))
}

function relay (url: string, query = ''): Promise<Response> {
  return cloud.api(`/api/relay?url=${encodeURIComponent(url)}${query}`)
}

/** Asserts a tunnel error answer: status, `x-outbridge-error` and `{"error":{"code","message"}}`. */
async function assertError (res: Response, status: number, code: string): Promise<void> {
  const text = await res.text()
  assert.equal(res.status, status, text)
  assert.equal(res.headers.get('x-outbridge-error'), code)
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/)
  const body = JSON.parse(text) as { error?: { code?: unknown, message?: unknown } }
  assert.equal(body.error?.code, code)
  assert.equal(typeof body.error?.message, 'string')
}

function counter (key: string): number {
  return target.counters.get(key) ?? 0
}

describe('refused before the target', () => {
  test('a target outside the rules is 403 FORBIDDEN_TARGET, through call, relay and path form', async () => {
    await assertError(await call({ url: FORBIDDEN }), 403, 'FORBIDDEN_TARGET')
    await assertError(await relay(FORBIDDEN), 403, 'FORBIDDEN_TARGET')
    await assertError(await cloud.api('/relay/_/http/10.0.0.1:80/'), 403, 'FORBIDDEN_TARGET')
  })

  test('a closed loopback port is 502 TARGET_UNREACHABLE', async () => {
    const url = `http://127.0.0.1:${closedPort}/hello`
    await assertError(await call({ url }), 502, 'TARGET_UNREACHABLE')
    await assertError(await relay(url), 502, 'TARGET_UNREACHABLE')
  })

  test('bad JSON and bad URLs are 400 BAD_REQUEST', async () => {
    await assertError(await postCall('{"url": '), 400, 'BAD_REQUEST')
    await assertError(await postCall('[]'), 400, 'BAD_REQUEST')
    await assertError(await call({ url: 'not a url' }), 400, 'BAD_REQUEST')
    await assertError(await call({ url: 'ftp://127.0.0.1/file' }), 400, 'BAD_REQUEST')
    await assertError(await call({}), 400, 'BAD_REQUEST')
    await assertError(await cloud.api('/api/relay?url=nope'), 400, 'BAD_REQUEST')
    await assertError(await cloud.api('/api/relay'), 400, 'BAD_REQUEST')
  })

  test('an unknown bridge is 503 BRIDGE_UNAVAILABLE', async () => {
    await assertError(await call({ bridge: 'nope', url: `${target.url}/hello` }), 503, 'BRIDGE_UNAVAILABLE')
    await assertError(await relay(`${target.url}/hello`, '&bridge=nope'), 503, 'BRIDGE_UNAVAILABLE')
    await assertError(await cloud.api(`/relay/nope/http/127.0.0.1:${target.port}/hello`), 503, 'BRIDGE_UNAVAILABLE')
  })
})

describe('failures at the target', () => {
  test('a target that does not answer within timeoutMs is 504 TARGET_TIMEOUT', async () => {
    const started = performance.now()
    await assertError(await call({ url: `${target.url}/hang`, timeoutMs: 500 }), 504, 'TARGET_TIMEOUT')
    const elapsed = performance.now() - started
    assert.ok(elapsed >= 450 && elapsed < 5_000, `timed out after ${Math.round(elapsed)} ms`)
    await assertError(await relay(`${target.url}/hang`, '&timeoutMs=500'), 504, 'TARGET_TIMEOUT')
  })

  test('a body cut by the target reaches a relay client as an error, not a clean end', async () => {
    const res = await relay(`${target.url}/reset-mid-body`)
    assert.equal(res.status, 200)
    assert.equal(res.headers.get('content-length'), String(1024 * 1024))
    const started = performance.now()
    await assert.rejects(res.arrayBuffer())
    // Promptly: a short end on a kept-alive connection would only fail once the cloud's 5 s idle timeout closed it.
    assert.ok(performance.now() - started < 2_000, 'the cut reached the client at once')
  })

  test('a body cut by the target fails an /api/call with a 502 error answer', async () => {
    const res = await call({ url: `${target.url}/reset-mid-body` })
    const code = res.headers.get('x-outbridge-error')
    assert.ok(code !== null, 'an error code')
    await assertError(res, 502, code)
  })

  test('a caller who gives up on a relay closes the target request', async () => {
    // Hung requests of earlier tests must be closed first, or their close could be counted here.
    await waitFor(() => counter('closed GET /hang') === counter('GET /hang'), { message: 'earlier /hang requests closed' })
    const seen = counter('GET /hang')
    const req = get(`${cloud.url}/api/relay?url=${encodeURIComponent(`${target.url}/hang`)}`)
    req.on('response', (res: IncomingMessage) => { res.resume() })
    req.on('error', () => {}) // destroy() below surfaces here as a reset
    await waitFor(() => counter('GET /hang') === seen + 1, { message: 'the target got the request' })
    req.destroy()
    await waitFor(() => counter('closed GET /hang') === seen + 1, { message: 'the target saw the caller go away' })
    await waitFor(async () => (await cloud.bridges())[0].inFlight === 0, { message: 'no call left in flight' })
  })
})
