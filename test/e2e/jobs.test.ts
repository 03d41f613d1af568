/**
 * End to end: sync jobs (issue #5) with real cloud, agent and target processes. A connected
 * bridge runs offered jobs and the cloud shows results that match the target's data; a pull
 * of 1,000 pages; a link cut mid-job (TCP relay RST) and a bridge SIGKILLed between finishing
 * a job and its acknowledgement both end with the result recorded exactly once, the job run
 * once; `run-once` exits 0, 1 and 3.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { SampleTarget } from '../support/target-server.js'
import { startTcpRelay } from '../support/tcp-relay.js'
import { cleanup, DEFAULT_CLIENT, makeTempDir, runCli, startAgent, startCloud, startTarget, waitFor } from './harness.js'
import type { Cloud } from './harness.js'

interface StepView {
  name: string
  state: string
  status?: number
  code?: string
  body?: string
  pageCount?: number
  truncated?: boolean
  items?: Array<{ id: number }>
  pages?: Array<{ url: string, status: number, body: string }>
}
interface JobView {
  id: string
  state: string
  runs: number
  attempts: number
  duplicates: number
  results: Array<{ run: number, state: string, attempts: number, durationMs: number, steps: StepView[] }>
}

after(cleanup)

async function postJob (cloud: Cloud, job: Record<string, unknown>): Promise<string> {
  const res = await cloud.api('/api/jobs', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(job) })
  const text = await res.text()
  assert.equal(res.status, 201, text)
  return (JSON.parse(text) as { id: string }).id
}

async function getJob (cloud: Cloud, id: string): Promise<JobView> {
  const res = await cloud.api(`/api/jobs/${id}`)
  assert.equal(res.status, 200)
  return await res.json() as JobView
}

async function waitForState (cloud: Cloud, id: string, states: readonly string[], timeoutMs = 20_000): Promise<JobView> {
  return await waitFor(async () => {
    const job = await getJob(cloud, id)
    return states.includes(job.state) ? job : undefined
  }, { timeoutMs, intervalMs: 50, message: `job ${id} to be ${states.join(' or ')}` })
}

const ids = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i)

function isJobFinishedLine (line: string): boolean {
  return line.includes('"msg":"job finished"')
}

describe('a connected bridge runs offered jobs', () => {
  let cloud: Cloud
  let target: SampleTarget

  before(async () => {
    [cloud, target] = await Promise.all([startCloud(), startTarget()])
    await startAgent(cloud)
  })

  test('a job succeeds and its results match the target\'s data', async () => {
    const expectedJson = await (await fetch(`${target.url}/json`)).text()
    const id = await postJob(cloud, {
      name: 'orders',
      frequency: 'once',
      connection: { baseUrl: target.url },
      steps: [
        { kind: 'request', name: 'catalog', path: '/json' },
        { kind: 'request', name: 'echo', method: 'POST', path: '/echo', headers: { 'content-type': 'text/plain' }, body: 'sync me' },
        { kind: 'pull', name: 'by-field', path: '/pages?pages=5', nextField: 'next', itemsField: 'items' },
        { kind: 'pull', name: 'capped', path: '/pages?pages=20', maxPages: 4 }
      ]
    })
    const job = await waitForState(cloud, id, ['succeeded', 'failed'])
    assert.equal(job.state, 'succeeded')
    assert.equal(job.results.length, 1)
    const [catalog, echo, byField, capped] = job.results[0].steps
    assert.deepEqual([catalog.state, catalog.status, catalog.body], ['succeeded', 200, expectedJson])
    assert.deepEqual([echo.status, echo.body], [200, 'sync me'])
    assert.equal(byField.pageCount, 5)
    assert.deepEqual(byField.items?.map((item) => item.id), ids(1, 15))
    assert.equal(byField.pages?.[4].url, `${target.url}/pages?page=5&pages=5`)
    assert.deepEqual([capped.state, capped.pageCount, capped.truncated], ['succeeded', 4, true])
    assert.equal(job.results[0].attempts, 1)
    assert.ok(job.results[0].durationMs >= 0)
  })

  test('a failed step carries the target\'s status or a wire code, and later steps are skipped', async () => {
    const base = { frequency: 'once', connection: { baseUrl: target.url } }
    const [status, forbidden, credential] = await Promise.all([
      postJob(cloud, { ...base, name: 'status', steps: [{ kind: 'request', path: '/status/500' }, { kind: 'request', path: '/json' }] }),
      postJob(cloud, { ...base, name: 'forbidden', connection: { baseUrl: 'http://127.0.0.2:9' }, steps: [{ kind: 'request', path: '/' }] }),
      postJob(cloud, { ...base, name: 'credential', connection: { baseUrl: target.url, credential: 'nope' }, steps: [{ kind: 'pull', path: '/pages' }] })
    ])
    const [a, b, c] = await Promise.all([status, forbidden, credential].map(async (id) => await waitForState(cloud, id, ['succeeded', 'failed'])))
    assert.deepEqual(a.results[0].steps.map((s) => [s.state, s.status]), [['failed', 500], ['skipped', undefined]])
    assert.deepEqual([b.state, b.results[0].steps[0].code], ['failed', 'FORBIDDEN_TARGET'])
    assert.deepEqual([c.state, c.results[0].steps[0].code], ['failed', 'UNKNOWN_CREDENTIAL'])
  })

  test('a pull of 1,000 pages arrives whole, and Call-URL traffic goes on meanwhile', async () => {
    const id = await postJob(cloud, {
      name: 'big-pull',
      frequency: 'once',
      connection: { baseUrl: target.url },
      steps: [{ kind: 'pull', path: '/pages?pages=1000', maxPages: 1000, itemsField: 'items' }]
    })
    await waitFor(() => (target.counters.get('GET /pages') ?? 0) > 100, { message: 'the pull to be under way' })
    const started = performance.now()
    const res = await cloud.api('/api/call', { method: 'POST', body: JSON.stringify({ url: `${target.url}/hello` }) })
    assert.equal(res.status, 200)
    assert.ok(performance.now() - started < 2_000, 'a call during the pull answers promptly')
    const job = await waitForState(cloud, id, ['succeeded', 'failed'], 30_000)
    const step = job.results[0].steps[0]
    assert.deepEqual([job.state, step.pageCount, step.truncated], ['succeeded', 1000, false])
    assert.deepEqual(step.items?.map((item) => item.id), ids(1, 3000))
  })

  test('a malformed job is refused with 400 BAD_REQUEST; an unknown id is 404', async () => {
    const res = await cloud.api('/api/jobs', { method: 'POST', body: JSON.stringify({ name: 'x', frequency: 'yearly', connection: { baseUrl: target.url }, steps: [{ kind: 'request', path: '/' }] }) })
    assert.equal(res.status, 400)
    assert.equal(res.headers.get('x-outbridge-error'), 'BAD_REQUEST')
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'BAD_REQUEST')
    assert.equal((await cloud.api('/api/jobs/no-such-job')).status, 404)
  })
})

describe('the link is cut while a job runs', () => {
  test('the result arrives after the reconnect, recorded once, the job run once', async () => {
    const [cloud, target] = await Promise.all([startCloud(), startTarget()])
    const relay = await startTcpRelay({ host: '127.0.0.1', port: cloud.port })
    try {
      const agent = await startAgent({ agentUrl: relay.url('ws', '/agent') })
      const id = await postJob(cloud, {
        name: 'paced-pull',
        frequency: 'once',
        connection: { baseUrl: target.url },
        steps: [{ kind: 'pull', path: '/pages?pages=300', maxPages: 300, pageDelayMs: 8, itemsField: 'items' }]
      })
      await waitFor(() => (target.counters.get('GET /pages') ?? 0) >= 60, { message: 'the pull to be under way' })
      relay.closeAll('rst')
      await agent.waitConnected(15_000, 2)
      const job = await waitForState(cloud, id, ['succeeded', 'failed'])
      const step = job.results[0].steps[0]
      assert.deepEqual([job.state, job.runs, job.results.length, step.pageCount], ['succeeded', 1, 1, 300])
      assert.deepEqual(step.items?.map((item) => item.id), ids(1, 900))
      assert.equal(target.counters.get('GET /pages'), 300, 'no page was fetched twice')
    } finally {
      await relay.close()
    }
  })
})

describe('the bridge is killed after finishing a job, before the acknowledgement', () => {
  test('after a restart the result arrives once and the job is not run again', async () => {
    const [cloud, target] = await Promise.all([startCloud(), startTarget()])
    const relay = await startTcpRelay({ host: '127.0.0.1', port: cloud.port })
    const dataDir = makeTempDir()
    try {
      const first = await startAgent({ agentUrl: relay.url('ws', '/agent') }, { dataDir })
      const id = await postJob(cloud, {
        name: 'slow-sync',
        frequency: 'once',
        connection: { baseUrl: target.url },
        steps: [{ kind: 'request', path: '/json' }, { kind: 'request', path: '/slow?ms=2000' }]
      })
      await waitForState(cloud, id, ['running'])
      // Whatever the bridge sends from now on is held by the relay, and dropped with the connection.
      relay.setMode('blackhole')
      await first.proc.waitForLine(isJobFinishedLine, 10_000)
      assert.equal(await first.stop('SIGKILL'), null)
      relay.closeAll('rst')
      relay.setMode('pass')
      assert.equal((await getJob(cloud, id)).state, 'running', 'the result did not reach the cloud before the kill')

      const second = await startAgent(cloud, { dataDir })
      const job = await waitForState(cloud, id, ['succeeded', 'failed'])
      assert.deepEqual([job.state, job.runs, job.results.length], ['succeeded', 1, 1])
      assert.deepEqual(job.results[0].steps.map((s) => [s.state, s.status]), [['succeeded', 200], ['succeeded', 200]])
      assert.equal(target.counters.get('GET /slow'), 1, 'the finished job was not run again')
      assert.equal(target.counters.get('GET /json'), 1)
      await second.proc.waitForLine((line) => line.includes('"msg":"job delivered"'))
    } finally {
      await relay.close()
    }
  })
})

describe('run-once (cron mode)', () => {
  test('exit codes: 3 for a wrong secret, 0 when all succeeded, 1 when one failed', async () => {
    const [cloud, target] = await Promise.all([startCloud(), startTarget()])
    const dataDir = makeTempDir()
    const args = (secret: string, ...rest: string[]): string[] => [
      'run-once', '--cloud-url', cloud.agentUrl, '--client-id', DEFAULT_CLIENT.id, '--client-secret', secret,
      '--name', 'cron-1', '--data-dir', dataDir, '--allow', '127.0.0.1', ...rest
    ]
    const base = { frequency: 'daily', connection: { baseUrl: target.url } }
    const good = await postJob(cloud, { ...base, name: 'good', steps: [{ kind: 'pull', path: '/pages?pages=3' }] })
    const bad = await postJob(cloud, { ...base, name: 'bad', steps: [{ kind: 'request', path: '/status/500' }] })

    const rejected = await runCli(args('wrong-secret-wrong-secret', '--frequency', 'daily'))
    assert.equal(rejected.code, 3, rejected.stdout + rejected.stderr)

    const ok = await runCli(args(DEFAULT_CLIENT.secret, '--frequency', 'daily', '--job', 'good'))
    assert.equal(ok.code, 0, ok.stdout + ok.stderr)
    assert.match(ok.stdout, /^succeeded good \(job [0-9a-f-]+, run 1\).*3 page\(s\).*; delivered\n$/)
    assert.deepEqual([(await getJob(cloud, good)).state, (await getJob(cloud, bad)).state], ['succeeded', 'pending'])

    const failed = await runCli(args(DEFAULT_CLIENT.secret, '--frequency', 'daily'))
    assert.equal(failed.code, 1, failed.stdout + failed.stderr)
    assert.match(failed.stdout, /^failed bad \(job [0-9a-f-]+, run 1\): step 1 "step-1" answered 500/)
    assert.equal((await getJob(cloud, bad)).state, 'failed')

    const none = await runCli(args(DEFAULT_CLIENT.secret, '--frequency', 'weekly'))
    assert.deepEqual([none.code, none.stdout], [0, 'no due weekly jobs\n'])
  })
})
