/**
 * End to end: local endpoint credentials (issue #4 point 8) through the real CLI, agent and
 * cloud. `outbridge credentials set|list|remove` with the secret on stdin; the agent adds the
 * header for a call naming the credential; the cloud never sees the secret (answers, its logs);
 * an unknown name is UNKNOWN_CREDENTIAL; the store on disk holds no plaintext.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { createServer } from 'node:http'
import type { IncomingHttpHeaders, Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import type { SampleTarget } from '../../agent/sample-target.js'
import { cleanup, makeTempDir, runCli, startAgent, startCloud, startTarget } from './harness.js'
import type { Cloud } from './harness.js'

const BEARER = `bearer-${randomBytes(12).toString('hex')}`
const PASSWORD = `password-${randomBytes(12).toString('hex')}`
const API_KEY = `apikey-${randomBytes(12).toString('hex')}`
const BASIC = `Basic ${Buffer.from(`svc:${PASSWORD}`).toString('base64')}`
/** Every form in which a secret could leak. */
const SECRETS = [BEARER, PASSWORD, API_KEY, BASIC.slice('Basic '.length)]

let cloud: Cloud
let target: SampleTarget
let dataDir: string
let recorder: Server
let recorderUrl: string
/** Request headers the recorder saw, newest last; it answers without echoing them. */
const recorded: IncomingHttpHeaders[] = []

before(async () => {
  recorder = createServer(function record (req, res) {
    recorded.push(req.headers)
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 2 }).end('ok')
  })
  recorder.listen(0, '127.0.0.1')
  await once(recorder, 'listening')
  recorderUrl = `http://127.0.0.1:${(recorder.address() as AddressInfo).port}`
  dataDir = makeTempDir()
  ;[cloud, target] = await Promise.all([startCloud(), startTarget()])
  // Started with an empty store: credentials set later must be picked up by the running agent.
  await startAgent(cloud, { dataDir, args: ['--follow-redirects'] })
})

after(async () => {
  recorder.closeAllConnections()
  await Promise.all([new Promise((resolve) => recorder.close(resolve)), cleanup()])
})

function credentials (args: string[], input?: string): ReturnType<typeof runCli> {
  return runCli(['credentials', ...args, '--data-dir', dataDir], { input })
}

function call (input: Record<string, unknown>): Promise<Response> {
  return cloud.api('/api/call', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(input) })
}

/** The request headers the sample target saw, through `/api/call` of `/headers`. */
async function headersSeen (input: Record<string, unknown>): Promise<Record<string, string>> {
  const res = await call({ url: `${target.url}/headers`, ...input })
  const text = await res.text()
  assert.equal(res.status, 200, text)
  return JSON.parse((JSON.parse(text) as { body: string }).body) as Record<string, string>
}

function assertNoSecret (text: string, where: string): void {
  for (const secret of SECRETS) assert.ok(!text.includes(secret), `${where} holds a secret`)
}

function targetRequests (): number {
  let total = 0
  for (const count of target.counters.values()) total += count
  return total
}

describe('the store', () => {
  test('set reads the secret from stdin; list shows names and types only', async () => {
    // One after the other: each `set` rewrites the whole store file.
    for (const [args, input] of [
      [['set', 'crm', '--type', 'bearer'], `${BEARER}\n`],
      [['set', 'erp', '--type', 'basic', '--username', 'svc'], PASSWORD],
      [['set', 'apikey', '--type', 'header', '--header-name', 'X-Api-Key'], `${API_KEY}\n`]
    ] as const) {
      const run = await credentials([...args], input)
      assert.equal(run.code, 0, run.stderr + run.stdout)
      assertNoSecret(run.stdout + run.stderr, 'set output')
    }
    const list = await credentials(['list'])
    assert.equal(list.code, 0, list.stderr)
    assert.deepEqual(list.stdout.trim().split('\n').sort(), ['apikey\theader\tx-api-key', 'crm\tbearer', 'erp\tbasic\tsvc'])
    assertNoSecret(list.stdout + list.stderr, 'list output')
  })

  test('the files on disk hold no plaintext and are private to the owner', () => {
    const files = readdirSync(dataDir, { recursive: true, encoding: 'utf8' }).map((name) => join(dataDir, name)).filter((path) => statSync(path).isFile())
    assert.ok(files.length >= 2, `store and key files: ${files.join(', ')}`)
    for (const file of files) {
      const bytes = readFileSync(file)
      assertNoSecret(bytes.toString('latin1'), file)
      for (const secret of SECRETS) assert.ok(!bytes.toString('latin1').includes(Buffer.from(secret).toString('base64')), `${file} holds a secret in base64`)
      assert.equal(statSync(file).mode & 0o077, 0, `${file} is 0600`)
    }
  })

  test('bad input is refused with exit 2 and stores nothing', async () => {
    for (const [args, input] of [
      [['set', 'h', '--type', 'header', '--header-name', 'host'], 'x'],
      [['set', 'cr', '--type', 'bearer'], 'a\r\nb'],
      [['set', 'empty', '--type', 'bearer'], ''],
      [['set', 'argv', '--type', 'bearer', '--secret', 'in-argv'], 'x']
    ] as const) {
      const run = await credentials([...args], input)
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.stdout}${run.stderr}`)
    }
    assert.doesNotMatch((await credentials(['list'])).stdout, /^(h|cr|empty|argv)\t/m)
  })
})

describe('calls', () => {
  test('a call naming a credential gets its header at the target, replacing the caller\'s', async () => {
    assert.equal((await headersSeen({ credential: 'crm' })).authorization, `Bearer ${BEARER}`)
    assert.equal((await headersSeen({ credential: 'erp' })).authorization, BASIC)
    assert.equal((await headersSeen({ credential: 'apikey' }))['x-api-key'], API_KEY)
    assert.equal((await headersSeen({ credential: 'crm', headers: { Authorization: 'Bearer from-the-caller' } })).authorization, `Bearer ${BEARER}`)
  })

  test('the relay names a credential with x-outbridge-credential, which the target never sees', async () => {
    const res = await cloud.api(`/api/relay?url=${encodeURIComponent(`${target.url}/headers`)}`, { headers: { 'x-outbridge-credential': 'crm' } })
    const seen = await res.json() as Record<string, string>
    assert.equal(seen.authorization, `Bearer ${BEARER}`)
    assert.equal(seen['x-outbridge-credential'], undefined)
  })

  test('the cloud never receives the secret: not in answers, not in its output', async () => {
    const before = recorded.length
    const answer = await call({ url: `${recorderUrl}/`, credential: 'erp' })
    assertNoSecret(JSON.stringify([...answer.headers]) + await answer.text(), 'the /api/call answer')
    const relayed = await cloud.api(`/relay/_/http/127.0.0.1:${new URL(recorderUrl).port}/`, { headers: { 'x-outbridge-credential': 'apikey' } })
    assertNoSecret(JSON.stringify([...relayed.headers]) + await relayed.text(), 'the relay answer')
    assert.equal(recorded.length, before + 2)
    assert.equal(recorded[before].authorization, BASIC, 'the target got the credential')
    assert.equal(recorded[before + 1]['x-api-key'], API_KEY, 'the target got the credential')
    assertNoSecret([...cloud.proc.lines, ...cloud.proc.stderr].join('\n'), 'the cloud\'s output')
  })

  test('a credential follows a same-origin redirect, never one to another origin', async () => {
    const to = (url: string): string => `${target.url}/redirect?to=${encodeURIComponent(url)}`
    assert.equal((await headersSeen({ url: to('/headers'), credential: 'crm' })).authorization, `Bearer ${BEARER}`)
    const before = recorded.length
    const res = await call({ url: to(`${recorderUrl}/elsewhere`), credential: 'crm' })
    assert.equal(res.status, 200, await res.text())
    assert.equal(recorded.length, before + 1, 'the redirect was followed')
    assert.equal(recorded[before].authorization, undefined, 'no credential for another origin')
  })

  test('an unknown credential is 400 UNKNOWN_CREDENTIAL and the target sees nothing', async () => {
    const requests = targetRequests()
    const res = await call({ url: `${target.url}/headers`, credential: 'nope' })
    assert.equal(res.status, 400)
    assert.equal(res.headers.get('x-outbridge-error'), 'UNKNOWN_CREDENTIAL')
    assert.equal((await res.json() as { error: { code: string } }).error.code, 'UNKNOWN_CREDENTIAL')
    const relayed = await cloud.api(`/api/relay?url=${encodeURIComponent(`${target.url}/headers`)}`, { headers: { 'x-outbridge-credential': 'nope' } })
    assert.equal(relayed.status, 400)
    assert.equal(relayed.headers.get('x-outbridge-error'), 'UNKNOWN_CREDENTIAL')
    await relayed.arrayBuffer()
    assert.equal(targetRequests(), requests)
  })
})

describe('changes while the agent runs', () => {
  test('set with a new secret replaces the old one for the running agent', async () => {
    const rotated = `rotated-${randomBytes(12).toString('hex')}`
    const run = await credentials(['set', 'crm', '--type', 'bearer'], rotated)
    assert.equal(run.code, 0, run.stderr)
    assert.equal((await headersSeen({ credential: 'crm' })).authorization, `Bearer ${rotated}`)
  })

  test('remove deletes it from the list and from the running agent', async () => {
    const run = await credentials(['remove', 'erp'])
    assert.equal(run.code, 0, run.stdout + run.stderr)
    assert.equal((await credentials(['remove', 'erp'])).code, 1, 'removing it twice')
    assert.doesNotMatch((await credentials(['list'])).stdout, /^erp\t/m)
    const res = await call({ url: `${target.url}/headers`, credential: 'erp' })
    assert.equal(res.headers.get('x-outbridge-error'), 'UNKNOWN_CREDENTIAL', `${res.status}: ${await res.text()}`)
  })
})
