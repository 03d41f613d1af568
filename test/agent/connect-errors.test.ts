/**
 * How connect failures are classified (from real ws errors where they are cheap to provoke), and
 * what the agent CLI does with two of them: a rejected login retries slowly with one clear log
 * line and a 503 `rejected` health state; a handshake that never completes times out and retries.
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { createServer as createHttpServer } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import { readFile, rm } from 'node:fs/promises'
import { createServer as createTcpServer } from 'node:net'
import type { AddressInfo, Server, Socket } from 'node:net'
import { after, describe, test } from 'node:test'
import WebSocket from 'ws'
import type { ClientOptions } from 'ws'
import { classifyConnectError } from '../../agent/connect-errors.js'
import type { ConnectFailure } from '../../agent/connect-errors.js'
import { makeTestPki } from '../support/certs.js'
import { cleanup, healthUrl, startAgent, startCloud, waitFor } from '../e2e/harness.js'

const servers = new Set<Server>()
after(async () => {
  for (const server of servers) server.close()
  await cleanup()
})

async function listen<T extends Server> (server: T): Promise<number> {
  servers.add(server)
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return (server.address() as AddressInfo).port
}

/** Connects a ws client to `url` and classifies the error it fails with. */
async function failureOf (url: string, options: ClientOptions = {}): Promise<ConnectFailure> {
  const ws = new WebSocket(url, options)
  const [err] = await once(ws, 'error') as [Error]
  ws.terminate()
  return classifyConnectError(err, err.message)
}

/** A server that answers every upgrade with `status`. */
async function upgradeAnswering (status: number): Promise<number> {
  const server = createHttpServer()
  server.on('upgrade', (_req, socket: Socket) => socket.end(`HTTP/1.1 ${status} Nope\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`))
  return await listen(server)
}

test('401 and 403 upgrades are a rejected login; other statuses are a protocol failure', async () => {
  for (const status of [401, 403]) {
    const failure = await failureOf(`ws://127.0.0.1:${await upgradeAnswering(status)}/agent`)
    assert.deepEqual([failure.kind, failure.detail], ['rejected', String(status)])
  }
  assert.deepEqual(pick(await failureOf(`ws://127.0.0.1:${await upgradeAnswering(502)}/agent`)), ['protocol', '502'])
  assert.deepEqual(pick(await failureOf(`ws://127.0.0.1:${await upgradeAnswering(407)}/agent`)), ['proxy', '407'])
})

function pick (failure: ConnectFailure): [string, string | undefined] {
  return [failure.kind, failure.detail]
}

test('a refused TCP connection is unreachable, with the errno as detail', async () => {
  const server = createTcpServer()
  const port = await listen(server)
  await new Promise((resolve) => server.close(resolve))
  assert.deepEqual(pick(await failureOf(`ws://127.0.0.1:${port}/agent`)), ['unreachable', 'ECONNREFUSED'])
})

test('a handshake that never completes is a timeout (ws and RWS spellings)', async () => {
  const port = await listen(createTcpServer(() => {}))
  assert.equal((await failureOf(`ws://127.0.0.1:${port}/agent`, { handshakeTimeout: 100 })).kind, 'timeout')
  assert.equal(classifyConnectError(new Error('TIMEOUT'), 'TIMEOUT').kind, 'timeout')
})

test('an untrusted certificate is a TLS failure that names the fix', async (t) => {
  const pki = await makeTestPki()
  t.after(() => rm(pki.dir, { recursive: true, force: true }))
  const server = createHttpsServer({ cert: await readFile(pki.serverCert), key: await readFile(pki.serverKey) })
  const failure = await failureOf(`wss://127.0.0.1:${await listen(server)}/agent`)
  assert.equal(failure.kind, 'tls')
  assert.match(failure.detail ?? '', /^(UNABLE_TO_|SELF_SIGNED_)/)
  assert.match(failure.message, /--ca-file/)
})

test('the message never repeats an error text that carries a token', () => {
  const token = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhY2MtMSJ9.c2lnbmF0dXJl'
  for (const text of [`Unexpected server response: 401 (Bearer ${token})`, `connect ECONNREFUSED (${token})`]) {
    const err = Object.assign(new Error(text), { code: text.includes('ECONN') ? 'ECONNREFUSED' : undefined })
    assert.ok(!classifyConnectError(err, text).message.includes(token), text)
  }
})

describe('the agent CLI on connect failures', { concurrency: true }, () => {
  test('rejected credentials: one clear log line, at most 3 attempts in 12 s, /healthz 503 rejected', async () => {
    const cloud = await startCloud()
    const agent = await startAgent(cloud, { secret: 'not-the-secret', waitConnected: false, args: ['--health-port', '0'] })
    const isRejectedAtCloud = (line: string): boolean => line.includes('bridge rejected')
    await cloud.proc.waitForLine(isRejectedAtCloud, 15_000)
    const firstAt = performance.now()
    await agent.proc.waitForLine((line) => line.includes('rejected'))
    const health = await fetch(`${await healthUrl(agent)}/healthz`)
    assert.equal(health.status, 503)
    const body = await health.json() as { state: string, reason: string | null }
    assert.equal(body.state, 'rejected')
    assert.ok(body.reason !== null && body.reason !== '', 'the health state gives the reason')
    // Retries must go on (the bridge must recover once the key is fixed), at 5-10 s apart.
    await cloud.proc.waitForLine(isRejectedAtCloud, 12_000, 2)
    await waitFor(() => performance.now() - firstAt >= 12_000, { timeoutMs: 13_000, intervalMs: 100 })
    const attempts = cloud.proc.lines.filter(isRejectedAtCloud).length
    assert.ok(attempts >= 2 && attempts <= 3, `${attempts} upgrade attempts in 12 s`)
    const rejectedLines = agent.proc.json().filter((line) => JSON.stringify(line).includes('rejected'))
    assert.equal(rejectedLines.length, 1, JSON.stringify(rejectedLines))
    assert.ok(Number(rejectedLines[0].level) >= 50, 'the rejection is logged as an error')
    assert.equal(rejectedLines[0].code, 'rejected')
    assert.ok(!agent.proc.lines.join('\n').includes('not-the-secret'), 'the secret is never logged')
  })

  test('a handshake that hangs times out after --handshake-timeout and is retried', async () => {
    const accepted: Array<{ at: number, closedAt?: number }> = []
    const port = await listen(createTcpServer(function neverAnswer (socket) {
      const entry: { at: number, closedAt?: number } = { at: performance.now() }
      accepted.push(entry)
      socket.on('error', () => {})
      socket.resume() // read the upgrade request (and never answer), so the client's FIN is seen
      socket.on('close', () => { entry.closedAt = performance.now() })
    }))
    const agent = await startAgent({ agentUrl: `ws://127.0.0.1:${port}/agent` }, { waitConnected: false, args: ['--handshake-timeout', '500'] })
    await waitFor(() => accepted.length >= 2, { timeoutMs: 8_000, message: 'a second connection attempt' })
    const first = accepted[0]
    assert.ok(first.closedAt !== undefined, 'the agent gave up on the first connection')
    const heldMs = first.closedAt - first.at
    assert.ok(heldMs >= 400 && heldMs < 2_500, `the first attempt was given up after ${Math.round(heldMs)} ms`)
    await agent.proc.waitForLine((line) => line.includes('"code":"timeout"'))
  })
})
