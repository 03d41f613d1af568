/**
 * End to end: a mock cloud serving https/wss with a certificate from a private CA made at run
 * time. The agent connects when given that CA (`--ca-file`) and relays calls made over https;
 * without it, or with an unrelated CA, it refuses with a TLS error that points at `--ca-file`;
 * `--insecure` connects but says so in a warning.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { SampleTarget } from '../../agent/sample-target.js'
import { makeTestPki, trustingFetch } from '../support/certs.js'
import type { TestPki, TrustingFetch } from '../support/certs.js'
import { cleanup, makeTempDir, startAgent, startCloud, startTarget, waitFor } from './harness.js'
import type { Agent, Cloud } from './harness.js'

const HELLO = 'hello from the private network\n'

let pki: TestPki
let cloud: Cloud
let target: SampleTarget
let client: TrustingFetch

before(async () => {
  pki = await makeTestPki(makeTempDir('outbridge-pki-'))
  ;[cloud, target] = await Promise.all([
    startCloud({ args: ['--tls-cert', pki.serverCert, '--tls-key', pki.serverKey] }),
    startTarget()
  ])
  client = trustingFetch(pki.caCert)
})
after(async () => {
  await client.close()
  await cleanup()
})

async function bridgeNames (): Promise<unknown[]> {
  const res = await client.fetch(`${cloud.url}/api/bridges`)
  assert.equal(res.status, 200)
  return (await res.json() as Array<{ name?: unknown }>).map((bridge) => bridge.name)
}

function tlsFailures (agent: Agent): Array<Record<string, unknown>> {
  return agent.proc.json().filter((line) => line.code === 'tls')
}

/** Starts an agent that must fail TLS; waits for three failed attempts (debug logs the repeats). */
async function assertRefusedTls (name: string, args: string[]): Promise<void> {
  const agent = await startAgent(cloud, { name, args: [...args, '--log-level', 'debug'], waitConnected: false })
  try {
    await agent.proc.waitForLine((line) => line.includes('"code":"tls"'), 10_000, 3)
    const [first] = tlsFailures(agent)
    assert.equal(first.level, 40, 'the first TLS failure is a warning')
    assert.match(String(first.msg), /TLS/)
    assert.match(String(first.msg), /--ca-file/)
    assert.equal(agent.proc.json().find((line) => line.msg === 'connected'), undefined)
    assert.ok(!(await bridgeNames()).includes(name))
  } finally {
    await agent.stop()
  }
}

describe('TLS to the cloud', () => {
  test('the mock cloud announces an https listener', () => {
    assert.match(cloud.url, /^https:\/\/127\.0\.0\.1:\d+$/)
    assert.ok(cloud.proc.lines.some((line) => line.includes(`listening on ${cloud.url}`)))
    assert.equal(cloud.agentUrl, `wss://127.0.0.1:${cloud.port}/agent`)
  })

  test('--ca-file: the agent connects over wss and relays a call made over https', async () => {
    const agent = await startAgent(cloud, { name: 'tls-ca', args: ['--ca-file', pki.caCert] })
    try {
      await waitFor(async () => (await bridgeNames()).includes('tls-ca'), { message: 'bridge listed' })
      const res = await client.fetch(`${cloud.url}/relay/tls-ca/http/127.0.0.1:${target.port}/hello`)
      assert.equal(res.status, 200)
      assert.equal(await res.text(), HELLO)
      assert.equal(tlsFailures(agent).length, 0)
    } finally {
      await agent.stop()
    }
  })

  test('without --ca-file the agent refuses the private certificate and never connects', async () => {
    await assertRefusedTls('tls-no-ca', [])
  })

  test('with a CA that did not sign the certificate the agent refuses it', async () => {
    await assertRefusedTls('tls-other-ca', ['--ca-file', pki.otherCaCert])
  })

  test('--insecure connects without verification and logs a warning', async () => {
    const agent = await startAgent(cloud, { name: 'tls-insecure', args: ['--insecure'] })
    try {
      const warning = agent.proc.json().find((line) => line.level === 40 && String(line.msg).includes('--insecure'))
      assert.ok(warning, 'no --insecure warning line')
      await waitFor(async () => (await bridgeNames()).includes('tls-insecure'), { message: 'bridge listed' })
    } finally {
      await agent.stop()
    }
  })
})
