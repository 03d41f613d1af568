/**
 * End to end: `outbridge test-connection` as a child process, one case per exit code:
 * 0 ok · 2 bad usage or config · 3 credentials rejected · 4 cloud unreachable (TCP, TLS, proxy).
 * Each prints its verdict as one line on stdout (usage errors go to stderr).
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { makeTestPki } from '../support/certs.js'
import type { TestPki } from '../support/certs.js'
import { DEFAULT_CLIENT, cleanup, makeTempDir, runCli, startCloud } from './harness.js'
import type { Cloud } from './harness.js'

let cloud: Cloud
let tlsCloud: Cloud
let pki: TestPki
let closedPort: number

/** A port nothing listens on: bound, then released. */
async function freePort (): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  server.close()
  await once(server, 'close')
  return port
}

before(async () => {
  pki = await makeTestPki(makeTempDir('outbridge-pki-'))
  ;[cloud, tlsCloud, closedPort] = await Promise.all([
    startCloud(),
    startCloud({ args: ['--tls-cert', pki.serverCert, '--tls-key', pki.serverKey] }),
    freePort()
  ])
})
after(cleanup)

/** Runs `test-connection` with the default client's credentials toward `cloudUrl`, then `extra`. */
function testConnection (cloudUrl: string, extra: string[] = [], secret: string = DEFAULT_CLIENT.secret): ReturnType<typeof runCli> {
  return runCli(['test-connection', '--cloud-url', cloudUrl, '--client-id', DEFAULT_CLIENT.id, '--client-secret', secret, ...extra])
}

/** Asserts the exit code and that stdout is exactly one verdict line matching `verdict`. */
function assertVerdict (result: Awaited<ReturnType<typeof runCli>>, code: number, verdict: RegExp): void {
  const detail = `stdout: ${result.stdout}\nstderr: ${result.stderr}`
  assert.equal(result.code, code, detail)
  const lines = result.stdout.split('\n').filter((line) => line !== '')
  assert.equal(lines.length, 1, detail)
  assert.match(lines[0], verdict)
}

/** Asserts exit 2 with a message on stderr and no verdict on stdout. */
function assertUsage (result: Awaited<ReturnType<typeof runCli>>): void {
  assert.equal(result.code, 2, `stdout: ${result.stdout}\nstderr: ${result.stderr}`)
  assert.notEqual(result.stderr.trim(), '')
  assert.doesNotMatch(result.stdout, /^(ok|failed)/m)
}

describe('test-connection exit codes', { concurrency: 3 }, () => {
  test('0: connects, authenticates and prints an ok verdict', async () => {
    assertVerdict(await testConnection(cloud.agentUrl), 0, /^ok\b/)
  })

  test('0: over wss with --ca-file', async () => {
    assertVerdict(await testConnection(tlsCloud.agentUrl, ['--ca-file', pki.caCert]), 0, /^ok\b/)
  })

  test('2: an unknown flag', async () => {
    assertUsage(await testConnection(cloud.agentUrl, ['--no-such-flag', 'x']))
  })

  test('2: --cloud-url missing', async () => {
    assertUsage(await runCli(['test-connection', '--client-id', DEFAULT_CLIENT.id, '--client-secret', DEFAULT_CLIENT.secret]))
  })

  test('2: a malformed value', async () => {
    assertUsage(await testConnection(cloud.agentUrl, ['--handshake-timeout', 'soon']))
  })

  test('2: an unreadable --ca-file', async () => {
    const missing = join(makeTempDir(), 'no-such-ca.pem')
    const result = await testConnection(tlsCloud.agentUrl, ['--ca-file', missing])
    assertUsage(result)
    assert.match(result.stderr, /--ca-file/)
  })

  test('3: a wrong secret', async () => {
    assertVerdict(await testConnection(cloud.agentUrl, [], 'not-the-secret-not-the-secret'), 3, /^failed: credentials rejected/)
  })

  test('3: an unknown client id', async () => {
    const result = await runCli(['test-connection', '--cloud-url', cloud.agentUrl, '--client-id', 'nobody', '--client-secret', DEFAULT_CLIENT.secret])
    assertVerdict(result, 3, /^failed: credentials rejected/)
  })

  test('4: nothing listens on the port', async () => {
    assertVerdict(await testConnection(`ws://127.0.0.1:${closedPort}/agent`), 4, /^failed: unreachable/)
  })

  test('4: the cloud certificate does not verify', async () => {
    assertVerdict(await testConnection(tlsCloud.agentUrl), 4, /^failed: tls/)
  })

  test('4: the certificate is signed by another CA than --ca-file', async () => {
    assertVerdict(await testConnection(tlsCloud.agentUrl, ['--ca-file', pki.otherCaCert]), 4, /^failed: tls/)
  })

  test('4: the proxy does not answer', async () => {
    assertVerdict(await testConnection(cloud.agentUrl, ['--proxy', `http://127.0.0.1:${closedPort}`]), 4, /^failed: /)
  })
})
