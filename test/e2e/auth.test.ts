/**
 * End to end: the cloud authenticates a bridge on the WebSocket upgrade. A wrong secret or no
 * credentials at all get HTTP 401 and never a session; the agent says `rejected`; no process
 * ever prints a secret; and with no bridge admitted, calls answer 503.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { request } from 'node:http'
import { after, before, test } from 'node:test'
import { DEFAULT_CLIENT, cleanup, startAgent, startCloud, startTarget } from './harness.js'
import type { Agent, Cloud } from './harness.js'

const WRONG_SECRET = 'wr0ng-wr0ng-wr0ng-wr0ng-wr0ng!'

let cloud: Cloud
let rejected: Agent
let admitted: Agent | undefined

before(async () => {
  cloud = await startCloud()
  rejected = await startAgent(cloud, { secret: WRONG_SECRET, name: 'wrong-secret', waitConnected: false })
})

after(cleanup)

/** Makes a WebSocket upgrade request to the agent endpoint; resolves with the HTTP status (101 when accepted). */
function upgradeStatus (authorization: string | undefined): Promise<number> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {
      connection: 'Upgrade',
      upgrade: 'websocket',
      'sec-websocket-version': '13',
      'sec-websocket-key': randomBytes(16).toString('base64'),
      'sec-websocket-protocol': 'outbridge.v1'
    }
    if (authorization !== undefined) headers.authorization = authorization
    const req = request(`${cloud.url}/agent`, { headers })
    req.once('response', (res) => {
      res.resume()
      resolve(res.statusCode ?? 0)
    })
    req.once('upgrade', (_res, socket) => {
      socket.destroy()
      resolve(101)
    })
    req.once('error', reject)
    req.end()
  })
}

function everyLine (): string[] {
  return [rejected, admitted, cloud].flatMap((p) => p === undefined ? [] : [p]).flatMap(({ proc }) => [...proc.lines, ...proc.stderr])
}

test('an agent with a wrong secret is rejected and never listed', { timeout: 20_000 }, async () => {
  await rejected.proc.waitForLine((line) => line.includes('rejected'))
  await cloud.proc.waitForLine((line) => line.includes('rejected'))
  assert.deepEqual(await cloud.bridges(), [])
  assert.equal(rejected.proc.lines.some((line) => line.includes('"msg":"connected"')), false)
})

test('an upgrade with a bad bearer token or none at all gets 401', async () => {
  assert.equal(await upgradeStatus('Bearer not-a-token'), 401)
  assert.equal(await upgradeStatus(`Bearer ${DEFAULT_CLIENT.secret}`), 401)
  assert.equal(await upgradeStatus(`Basic ${Buffer.from(`${DEFAULT_CLIENT.id}:${DEFAULT_CLIENT.secret}`).toString('base64')}`), 401)
  assert.equal(await upgradeStatus(undefined), 401)
  assert.deepEqual(await cloud.bridges(), [])
})

test('with no bridge admitted, a call is 503 BRIDGE_UNAVAILABLE', async () => {
  const target = await startTarget()
  const res = await cloud.api('/api/call', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: `${target.url}/hello` }) })
  assert.equal(res.status, 503)
  assert.equal(res.headers.get('x-outbridge-error'), 'BRIDGE_UNAVAILABLE')
  assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'BRIDGE_UNAVAILABLE')
})

test('the right secret is admitted where the wrong one was not', { timeout: 20_000 }, async () => {
  admitted = await startAgent(cloud)
  const bridges = await cloud.bridges()
  assert.deepEqual(bridges.map((bridge) => bridge.name), [DEFAULT_CLIENT.id])
})

test('no process ever printed a secret', () => {
  const lines = everyLine()
  assert.ok(lines.length > 0)
  for (const secret of [WRONG_SECRET, DEFAULT_CLIENT.secret]) {
    assert.deepEqual(lines.filter((line) => line.includes(secret)), [], 'a line holds a secret')
  }
})
