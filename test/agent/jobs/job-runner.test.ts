import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { createExecutor } from '../../../agent/executor.js'
import type { JobFetchContext } from '../../../agent/jobs/job-fetch.js'
import { runJob } from '../../../agent/jobs/job-runner.js'
import type { RecordInput } from '../../../agent/jobs/outbox.js'
import { TargetPolicy } from '../../../agent/policy.js'
import { JOB_PART_BYTES, type PageRecord, type StepRecord } from '../../../protocol/job-frames.js'
import { readJobSpec } from '../../../protocol/job-spec.js'
import { deterministicBytes, startSampleTarget, type SampleTarget } from '../../support/target-server.js'

let target: SampleTarget
const executor = createExecutor({ connectTimeout: 2_000, maxHeaderSize: 64 * 1024 })
const ctx = (over: Partial<JobFetchContext> = {}): JobFetchContext => ({
  policy: new TargetPolicy(['127.0.0.1']),
  executor,
  credentialHeader: async (name) => name === 'crm' ? ['authorization', 'Bearer t0ken'] as const : undefined,
  defaultTimeout: 5_000,
  maxBodyBytes: 1024 * 1024,
  ...over
})

before(async () => { target = await startSampleTarget() })
after(async () => { await target.close(); await executor.close() })

/** Runs a job given in wire form; returns its records and summary. */
async function run (job: Record<string, unknown>, context = ctx(), signal = new AbortController().signal): Promise<{ records: RecordInput[], summary: Awaited<ReturnType<typeof runJob>> }> {
  const records: RecordInput[] = []
  const summary = await runJob(readJobSpec({ name: 'j', frequency: 'once', connection: { baseUrl: target.url }, ...job }), async (r) => { records.push(...r) }, context, signal)
  return { records, summary }
}

const pages = (records: RecordInput[], step: number): PageRecord[] => records.filter((r): r is PageRecord => r.kind === 'page' && r.step === step)
const steps = (records: RecordInput[]): StepRecord[] => records.filter((r): r is StepRecord => r.kind === 'step')

test('request and pull steps emit pages, one STEP each, then FINAL', async () => {
  const { records, summary } = await run({
    steps: [
      { kind: 'request', path: '/json' },
      { kind: 'pull', path: '/pages?pages=4' },
      { kind: 'pull', path: '/pages?pages=3', nextField: 'next' },
      { kind: 'pull', path: '/pages?pages=9', maxPages: 2 }
    ]
  })
  assert.deepEqual(records.map((r) => r.kind).filter((k) => k !== 'page'), ['step', 'step', 'step', 'step', 'final'])
  assert.equal(records[records.length - 1].kind, 'final')
  assert.deepEqual(JSON.parse(Buffer.from(pages(records, 0)[0].body).toString()).items.length, 3)
  assert.deepEqual(pages(records, 1).map((p) => p.url), [1, 2, 3, 4].map((n) => n === 1 ? `${target.url}/pages?pages=4` : `${target.url}/pages?page=${n}&pages=4`))
  assert.equal(pages(records, 2).length, 3)
  assert.deepEqual(steps(records).map((s) => [s.state, s.truncated]), [['succeeded', false], ['succeeded', false], ['succeeded', false], ['succeeded', true]])
  assert.deepEqual([summary.state, summary.steps, summary.pages], ['succeeded', 4, 10])
})

test('a page larger than a part is split into parts that add up to the body', async () => {
  const { records } = await run({ steps: [{ kind: 'request', path: '/bytes?n=100000' }] })
  const parts = pages(records, 0)
  assert.deepEqual(parts.map((p) => [p.part, p.last]), [[0, false], [1, false], [2, false], [3, true]])
  assert.ok(parts.every((p) => p.body.byteLength <= JOB_PART_BYTES))
  assert.deepEqual(Buffer.concat(parts.map((p) => p.body)), deterministicBytes(100000))
})

test('a non-2xx page fails its step with the status, and the run stops there', async () => {
  const { records, summary } = await run({ steps: [{ kind: 'request', path: '/status/404' }, { kind: 'request', path: '/json' }] })
  assert.deepEqual(steps(records).map((s) => [s.step, s.state, s.status, s.code]), [[0, 'failed', 404, undefined]])
  assert.deepEqual([summary.state, summary.failure?.status], ['failed', 404])
})

test('a refused, unreachable or uncredentialed target fails with the wire code, like a call', async () => {
  const refused = await run({ connection: { baseUrl: 'http://127.0.0.2:9' }, steps: [{ kind: 'request', path: '/' }] })
  assert.equal(steps(refused.records)[0].code, 'FORBIDDEN_TARGET')
  const unknown = await run({ connection: { baseUrl: target.url, credential: 'nope' }, steps: [{ kind: 'request', path: '/' }] })
  assert.equal(steps(unknown.records)[0].code, 'UNKNOWN_CREDENTIAL')
  const slow = await run({ steps: [{ kind: 'request', path: '/slow?ms=2000', timeoutMs: 100 }] })
  assert.equal(steps(slow.records)[0].code, 'TARGET_TIMEOUT')
  const big = await run({ steps: [{ kind: 'request', path: '/bytes?n=5000' }] }, ctx({ maxBodyBytes: 1000 }))
  assert.equal(steps(big.records)[0].code, 'BODY_TOO_LARGE')
})

test('the credential\'s header is added on the bridge', async () => {
  const { records } = await run({ connection: { baseUrl: target.url, credential: 'crm' }, steps: [{ kind: 'request', path: '/headers' }] })
  assert.equal(JSON.parse(Buffer.from(pages(records, 0)[0].body).toString()).authorization, 'Bearer t0ken')
})

test('stopping the bridge ends a run without a FINAL (interrupted, not failed)', async () => {
  const abort = new AbortController()
  const records: RecordInput[] = []
  const spec = readJobSpec({ name: 'j', frequency: 'once', connection: { baseUrl: target.url }, steps: [{ kind: 'pull', path: '/pages?pages=500', maxPages: 500, pageDelayMs: 5 }] })
  const running = runJob(spec, async (r) => {
    records.push(...r)
    if (records.length === 3) abort.abort()
  }, ctx(), abort.signal)
  await assert.rejects(running)
  assert.ok(records.every((r) => r.kind === 'page'))
})
