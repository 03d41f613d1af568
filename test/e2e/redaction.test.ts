/**
 * End to end: secrets never reach the logs (issue #4 point 9). Cloud and agent run at debug
 * level, the agent through a proxy that wants a password, with a local credential; calls carry
 * Authorization (a JWT), Cookie and Proxy-Authorization, succeed and fail in several ways, and a
 * second agent is rejected for a wrong secret. Then every stdout and stderr line of every process
 * is searched for each secret and for anything shaped like a JWT.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { createServer } from 'node:http'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, test } from 'node:test'
import type { SampleTarget } from '../../agent/sample-target.js'
import { startProxy } from '../support/proxy-server.js'
import type { TestProxy } from '../support/proxy-server.js'
import { cleanup, makeTempDir, runCli, startAgent, startCloud, startTarget } from './harness.js'
import type { Agent, Cloud, Proc } from './harness.js'

const unique = (label: string): string => `${label}-${randomBytes(12).toString('hex')}`
const base64url = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url')

const CLIENT_SECRET = unique('client-secret')
const WRONG_SECRET = unique('wrong-secret')
const API_TOKEN = unique('api-token')
const PROXY_PASSWORD = unique('proxy-password')
const CREDENTIAL = unique('credential')
const COOKIE = unique('cookie')
const SET_COOKIE = unique('set-cookie')
const CALLER_PROXY_AUTH = unique('caller-proxy-auth')
const CALLER_JWT = `${base64url({ alg: 'HS256', typ: 'JWT' })}.${base64url({ sub: unique('caller') })}.${unique('signature')}`
const SECRETS: Readonly<Record<string, string>> = {
  CLIENT_SECRET, WRONG_SECRET, API_TOKEN, PROXY_PASSWORD, CREDENTIAL, COOKIE, SET_COOKIE, CALLER_PROXY_AUTH, CALLER_JWT
}
// A JWT: a base64url JSON header (`{"` is `eyJ`), a dot, more base64url.
const JWT_SHAPE = /eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+/

let cloud: Cloud
let agent: Agent
let rejected: Agent
let target: SampleTarget
let proxy: TestProxy
let cookieServer: Server
let cookieUrl: string

before(async () => {
  cookieServer = createServer(function giveCookie (_req, res) {
    res.writeHead(200, { 'set-cookie': `session=${SET_COOKIE}; HttpOnly`, 'content-length': 2 }).end('ok')
  })
  cookieServer.listen(0, '127.0.0.1')
  await once(cookieServer, 'listening')
  cookieUrl = `http://127.0.0.1:${(cookieServer.address() as AddressInfo).port}/`
  const dataDir = makeTempDir()
  let stored: Awaited<ReturnType<typeof runCli>>
  ;[cloud, target, proxy, stored] = await Promise.all([
    startCloud({ clients: [`acc-1:${CLIENT_SECRET}`], apiToken: API_TOKEN, args: ['-d'] }),
    startTarget(),
    startProxy({ auth: { user: 'proxy-user', password: PROXY_PASSWORD } }),
    runCli(['credentials', 'set', 'crm', '--type', 'bearer', '--data-dir', dataDir], { input: CREDENTIAL })
  ])
  assert.equal(stored.code, 0, stored.stderr)
  const proxyUrl = `http://proxy-user:${PROXY_PASSWORD}@127.0.0.1:${proxy.port}`
  ;[agent, rejected] = await Promise.all([
    startAgent(cloud, { secret: CLIENT_SECRET, dataDir, args: ['-d', '--proxy', proxyUrl] }),
    startAgent(cloud, { secret: WRONG_SECRET, name: 'wrong', waitConnected: false, args: ['-d'] })
  ])
  await rejected.proc.waitForLine((line) => line.includes('rejected'))
  await rejected.stop()
})

after(async () => {
  cookieServer.closeAllConnections()
  await Promise.all([new Promise((resolve) => cookieServer.close(resolve)), proxy.stop(), cleanup()])
})

const SECRET_HEADERS = {
  authorization: `Bearer ${CALLER_JWT}`,
  cookie: `c=${COOKIE}`,
  'proxy-authorization': `Basic ${CALLER_PROXY_AUTH}`
}

function call (input: Record<string, unknown>): Promise<Response> {
  return cloud.api('/api/call', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(input) })
}

/** Calls that succeed and fail, all carrying secrets; the answers are read and dropped. */
async function makeCalls (): Promise<number[]> {
  const headers = SECRET_HEADERS
  const answers = await Promise.all([
    call({ url: `${target.url}/headers`, headers }),
    call({ url: `${target.url}/headers`, headers, credential: 'crm' }),
    call({ url: cookieUrl, headers }),
    call({ url: `${target.url}/headers`, headers, credential: 'unknown' }),
    call({ url: 'http://169.254.169.254/', headers, credential: 'crm' }),
    call({ url: `${target.url}/hang`, headers, credential: 'crm', timeoutMs: 300 }),
    call({ url: `${target.url}/headers`, headers: { ...headers, 'x-bad': `${COOKIE}\r\nx: y` } }),
    call({ url: `http://user:${CALLER_PROXY_AUTH}@127.0.0.1:${target.port}/`, headers }),
    cloud.api(`/api/relay?url=${encodeURIComponent(`${target.url}/headers`)}`, { headers: { cookie: headers.cookie, 'x-outbridge-credential': 'crm' } }),
    cloud.api(`/api/relay?url=${encodeURIComponent(cookieUrl)}`, { headers: { cookie: headers.cookie } }),
    // Cut by the target: the client may see the head and then an error, or only the error.
    cloud.api(`/relay/_/http/127.0.0.1:${target.port}/reset-mid-body`, { headers: { cookie: headers.cookie } }).catch(() => new Response(null, { status: 502 })),
    cloud.api('/api/bridges', { headers: { authorization: `Bearer ${WRONG_SECRET}` } })
  ])
  return await Promise.all(answers.map(async (res) => {
    await res.arrayBuffer().catch(() => undefined)
    return res.status
  }))
}

function allLines (proc: Proc): string[] {
  return [...proc.lines, ...proc.stderr]
}

test('no secret and no JWT in any line of any process, at debug level', async () => {
  const statuses = await makeCalls()
  assert.deepEqual(statuses.slice(0, 3), [200, 200, 200], 'the calls that should pass did')
  assert.ok(statuses.slice(3, 8).every((status) => status >= 400), `the failing calls failed: ${statuses.join(',')}`)
  assert.equal(statuses[11], 401, 'a wrong API token is refused')
  assert.ok(proxy.connects.length > 0, 'the agent went through the proxy, so it used the password')
  await Promise.all([agent.stop(), cloud.stop()])
  const outputs: Record<string, string[]> = { cloud: allLines(cloud.proc), agent: allLines(agent.proc), rejected: allLines(rejected.proc) }
  assert.ok(outputs.agent.some((line) => line.includes('"level":20')), 'the agent logged at debug level')
  assert.ok(outputs.rejected.some((line) => line.includes('rejected')), 'the rejected agent said so')
  const leaks: string[] = []
  for (const [name, lines] of Object.entries(outputs)) {
    assert.ok(lines.length > 0, `${name} printed something`)
    for (const line of lines) {
      for (const [label, secret] of Object.entries(SECRETS)) if (line.includes(secret)) leaks.push(`${name} printed ${label}: ${line}`)
      if (JWT_SHAPE.test(line)) leaks.push(`${name} printed a JWT: ${line}`)
    }
  }
  assert.deepEqual(leaks, [])
})
