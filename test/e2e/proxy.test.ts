/**
 * End to end: the agent reaches the cloud through a real HTTP CONNECT proxy process, chosen by
 * `--proxy` or by HTTP_PROXY / HTTPS_PROXY / NO_PROXY (ws:// follows HTTP_PROXY, wss://
 * HTTPS_PROXY), with and without proxy Basic auth; the proxy password never reaches a log line.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { makeTestPki, trustingFetch } from '../support/certs.js'
import type { TestPki, TrustingFetch } from '../support/certs.js'
import { startProxy } from '../support/proxy-server.js'
import type { TestProxy } from '../support/proxy-server.js'
import { DEFAULT_CLIENT, cleanup, makeTempDir, runCli, startAgent, startCloud, waitFor } from './harness.js'
import type { Agent, Cloud } from './harness.js'

const PROXY_USER = 'proxy-user'
const PROXY_PASSWORD = 'Pr0xyPassw0rdXyz'
const WRONG_PASSWORD = 'Wr0ngPassw0rdAbc'

let cloud: Cloud
let tlsCloud: Cloud
let pki: TestPki
let tlsClient: TrustingFetch

before(async () => {
  pki = await makeTestPki(makeTempDir('outbridge-pki-'))
  tlsClient = trustingFetch(pki.caCert)
  ;[cloud, tlsCloud] = await Promise.all([
    startCloud(),
    startCloud({ args: ['--tls-cert', pki.serverCert, '--tls-key', pki.serverKey] })
  ])
})
after(async () => {
  await tlsClient.close()
  await cleanup()
})

function hostPort (c: Cloud): string {
  return `127.0.0.1:${c.port}`
}

function withCredentials (proxy: TestProxy, password: string): string {
  return `http://${PROXY_USER}:${password}@127.0.0.1:${proxy.port}`
}

/** Everything the process printed, stdout and stderr. */
function output (agent: Agent): string {
  return [...agent.proc.lines, ...agent.proc.stderr].join('\n')
}

function usedProxyLine (agent: Agent): Record<string, unknown> | undefined {
  return agent.proc.json().find((line) => line.msg === 'using a proxy for the cloud connection')
}

/** `GET /api/bridges` of either cloud (the TLS one through a client trusting the test CA). */
async function bridgesOf (c: Cloud): Promise<Array<{ name?: unknown }>> {
  if (c !== tlsCloud) return await c.bridges()
  const res = await tlsClient.fetch(`${c.url}/api/bridges`)
  assert.equal(res.status, 200)
  return await res.json() as Array<{ name?: unknown }>
}

async function assertListed (c: Cloud, name: string): Promise<void> {
  await waitFor(async () => (await bridgesOf(c)).some((bridge) => bridge.name === name), { message: `bridge ${name} listed` })
}

/** Starts an agent, checks it connects and is listed, runs `check`, stops it. */
async function connectAndCheck (c: Cloud, name: string, options: { args?: string[], env?: NodeJS.ProcessEnv }, check: (agent: Agent) => Promise<void> | void): Promise<void> {
  const agent = await startAgent(c, { name, ...options })
  try {
    await assertListed(c, name)
    await check(agent)
  } finally {
    await agent.stop()
  }
}

/** The CONNECTs `proxy` lets through while `fn` runs. */
async function connectsDuring (proxy: TestProxy, fn: () => Promise<void>): Promise<string[]> {
  const from = proxy.connects.length
  await fn()
  return proxy.connects.slice(from)
}

describe('choosing the proxy', () => {
  let proxy: TestProxy
  before(async () => { proxy = await startProxy() })
  after(() => proxy.stop())

  async function throughProxy (c: Cloud, name: string, options: { args?: string[], env?: NodeJS.ProcessEnv }): Promise<void> {
    const seen = await connectsDuring(proxy, () => connectAndCheck(c, name, options, async () => {
      await waitFor(() => proxy.connects.includes(hostPort(c)), { message: 'proxy saw the CONNECT' })
    }))
    assert.deepEqual(seen, [hostPort(c)])
  }

  async function direct (c: Cloud, name: string, options: { args?: string[], env?: NodeJS.ProcessEnv }): Promise<void> {
    const seen = await connectsDuring(proxy, () => connectAndCheck(c, name, options, (agent) => {
      assert.equal(usedProxyLine(agent), undefined)
    }))
    assert.deepEqual(seen, [])
  }

  test('--proxy: the tunnel goes through the proxy', async () => {
    await throughProxy(cloud, 'via-flag', { args: ['--proxy', proxy.url] })
  })

  test('OUTBRIDGE_PROXY works like --proxy', async () => {
    await throughProxy(cloud, 'via-outbridge-env', { env: { OUTBRIDGE_PROXY: proxy.url } })
  })

  test('HTTP_PROXY is used for a ws:// cloud', async () => {
    await throughProxy(cloud, 'via-http-proxy', { env: { HTTP_PROXY: proxy.url } })
  })

  test('HTTPS_PROXY alone is not used for a ws:// cloud', async () => {
    await direct(cloud, 'ws-ignores-https-proxy', { env: { HTTPS_PROXY: proxy.url } })
  })

  test('HTTPS_PROXY is used for a wss:// cloud', async () => {
    await throughProxy(tlsCloud, 'via-https-proxy', { args: ['--ca-file', pki.caCert], env: { HTTPS_PROXY: proxy.url } })
  })

  test('HTTP_PROXY alone is not used for a wss:// cloud', async () => {
    await direct(tlsCloud, 'wss-ignores-http-proxy', { args: ['--ca-file', pki.caCert], env: { HTTP_PROXY: proxy.url } })
  })

  test('NO_PROXY=127.0.0.1 bypasses HTTP_PROXY', async () => {
    await direct(cloud, 'no-proxy', { env: { HTTP_PROXY: proxy.url, NO_PROXY: '127.0.0.1' } })
  })
})

describe('proxy Basic auth', () => {
  let proxy: TestProxy
  before(async () => { proxy = await startProxy({ auth: { user: PROXY_USER, password: PROXY_PASSWORD } }) })
  after(() => proxy.stop())

  test('user:password in the proxy URL is accepted, and the password is never logged', async () => {
    const args = ['--proxy', withCredentials(proxy, PROXY_PASSWORD), '--log-level', 'debug']
    const seen = await connectsDuring(proxy, () => connectAndCheck(cloud, 'via-auth-proxy', { args }, async (agent) => {
      await waitFor(() => proxy.connects.includes(hostPort(cloud)), { message: 'proxy saw the CONNECT' })
      const shown = usedProxyLine(agent)?.proxy
      assert.equal(typeof shown, 'string')
      assert.equal(new URL(String(shown)).username, PROXY_USER)
      assert.equal(new URL(String(shown)).port, String(proxy.port))
      assert.ok(!output(agent).includes(PROXY_PASSWORD), 'the proxy password appears in the agent output')
    }))
    assert.deepEqual(seen, [hostPort(cloud)])
  })

  test('a wrong proxy password: the agent logs a proxy failure and never connects', async () => {
    const denied = proxy.denied.length
    const agent = await startAgent(cloud, {
      name: 'bad-proxy-auth',
      args: ['--proxy', withCredentials(proxy, WRONG_PASSWORD), '--log-level', 'debug'],
      waitConnected: false
    })
    try {
      const seen = await connectsDuring(proxy, () => agent.proc.waitForLine((line) => line.includes('"code":"proxy"')).then(() => {}))
      assert.deepEqual(seen, [])
      assert.ok(proxy.denied.slice(denied).includes(hostPort(cloud)))
      assert.equal(agent.proc.json().find((line) => line.msg === 'connected'), undefined)
      assert.ok(!(await cloud.bridges()).some((bridge) => bridge.name === 'bad-proxy-auth'))
      assert.ok(!output(agent).includes(WRONG_PASSWORD), 'the proxy password appears in the agent output')
    } finally {
      await agent.stop()
    }
  })

  test('test-connection through a proxy that refuses the password exits 4 without printing it', async () => {
    const denied = proxy.denied.length
    const { code, stdout, stderr } = await runCli([
      'test-connection', '--cloud-url', cloud.agentUrl, '--client-id', DEFAULT_CLIENT.id,
      '--client-secret', DEFAULT_CLIENT.secret, '--proxy', withCredentials(proxy, WRONG_PASSWORD), '--log-level', 'debug'
    ])
    assert.equal(code, 4, stdout + stderr)
    assert.match(stdout, /^failed: proxy/)
    assert.ok(proxy.denied.slice(denied).includes(hostPort(cloud)))
    assert.ok(!(stdout + stderr).includes(WRONG_PASSWORD), 'the proxy password appears in the test-connection output')
  })
})
