/**
 * End to end: orderly shutdowns. The agent's first SIGTERM drains (GOAWAY DRAINING, no new
 * calls, in-flight calls finish, exit 0 as soon as they did); a second SIGTERM stops at once.
 * The cloud's SIGTERM (GOAWAY SHUTDOWN) is routine for the agent: logged at info, then it
 * reconnects to the next cloud.
 */
import assert from 'node:assert/strict'
import { after, test } from 'node:test'
import { cleanup, startAgent, startCloud, startTarget, waitFor } from './harness.js'
import type { Cloud } from './harness.js'

const DRAIN_TIMEOUT_MS = 10_000
const DRAIN = ['--drain-timeout', String(DRAIN_TIMEOUT_MS)]

after(cleanup)

interface Answer { readonly httpStatus: number, readonly code: string | null, readonly status?: number, readonly body?: string, readonly at: number }

/** `POST /api/call` for `GET url`; resolves with the HTTP status, the tunnel error code and the target's answer. */
async function call (cloud: Cloud, url: string): Promise<Answer> {
  const res = await cloud.api('/api/call', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url }) })
  const json = await res.json() as { status?: number, body?: string }
  return { httpStatus: res.status, code: res.headers.get('x-outbridge-error'), status: json.status, body: json.body, at: performance.now() }
}

test('first SIGTERM: GOAWAY DRAINING, new calls 503, in-flight calls complete, exit 0 long before the drain timeout', async () => {
  const [cloud, target] = await Promise.all([startCloud(), startTarget()])
  const agent = await startAgent(cloud, { args: DRAIN })
  const inFlight = [call(cloud, `${target.url}/slow?ms=1500`), call(cloud, `${target.url}/slow?ms=1500`)]
  await waitFor(() => target.counters.get('GET /slow') === 2, { message: 'both calls at the target' })
  const termAt = performance.now()
  agent.proc.child.kill('SIGTERM')
  await waitFor(async () => (await cloud.bridges())[0]?.state === 'draining', { timeoutMs: 1_000, message: 'the cloud showing the bridge as draining' })
  const refused = await call(cloud, `${target.url}/hello`)
  assert.deepEqual([refused.httpStatus, refused.code], [503, 'BRIDGE_UNAVAILABLE'])
  for (const answer of await Promise.all(inFlight)) {
    assert.deepEqual([answer.httpStatus, answer.status, answer.body], [200, 200, 'waited 1500 ms\n'])
  }
  assert.equal(await agent.proc.exited, 0)
  const exitMs = performance.now() - termAt
  assert.ok(exitMs < DRAIN_TIMEOUT_MS / 2, `the agent exited ${Math.round(exitMs)} ms after SIGTERM`)
  assert.equal(target.counters.get('GET /hello'), undefined, 'no new call reached the target during the drain')
})

test('a second SIGTERM during the drain stops at once and aborts the calls still running', async () => {
  const [cloud, target] = await Promise.all([startCloud(), startTarget()])
  const agent = await startAgent(cloud, { args: DRAIN })
  const inFlight = [call(cloud, `${target.url}/hang`), call(cloud, `${target.url}/hang`)]
  await waitFor(() => target.counters.get('GET /hang') === 2, { message: 'both calls at the target' })
  agent.proc.child.kill('SIGTERM')
  await agent.proc.waitForLine((line) => line.includes('"msg":"draining"'))
  const secondAt = performance.now()
  agent.proc.child.kill('SIGTERM')
  await agent.proc.exited
  const exitMs = performance.now() - secondAt
  assert.ok(exitMs < 2_000, `the agent exited ${Math.round(exitMs)} ms after the second SIGTERM`)
  for (const answer of await Promise.all(inFlight)) assert.deepEqual([answer.httpStatus, answer.code], [502, 'BRIDGE_DISCONNECTED'])
  await waitFor(() => target.counters.get('closed GET /hang') === 2, { timeoutMs: 2_000, message: 'the target requests aborted' })
})

test('a cloud SIGTERM is logged at info level without an error burst, and the agent reconnects to the next cloud', async () => {
  const cloud = await startCloud()
  const agent = await startAgent(cloud)
  assert.equal(await cloud.stop(), 0)
  const line = JSON.parse(await agent.proc.waitForLine((l) => l.includes('"code":"SHUTDOWN"'), 5_000)) as { level: number }
  assert.equal(line.level, 30, 'the GOAWAY SHUTDOWN is logged at info')
  const next = await startCloud({ port: cloud.port })
  await agent.waitConnected(10_000, 2)
  await waitFor(async () => (await next.bridges()).length === 1, { message: 'the bridge listed by the next cloud' })
  const levels = agent.proc.json().map((l) => Number(l.level))
  assert.deepEqual(levels.filter((level) => level >= 50), [], 'no error line')
  assert.ok(levels.filter((level) => level === 40).length <= 3, `warnings: ${JSON.stringify(agent.proc.json().filter((l) => l.level === 40))}`)
})
