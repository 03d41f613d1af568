import assert from 'node:assert/strict'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { createExecutor } from '../../../agent/executor.js'
import { JobClient, type JobClientOptions } from '../../../agent/jobs/job-client.js'
import { Outbox } from '../../../agent/jobs/outbox.js'
import { createLogger } from '../../../agent/logger.js'
import { TargetPolicy } from '../../../agent/policy.js'
import type { AgentJobFrame, CloudJobFrame, JobOfferFrame, JobRecordsFrame } from '../../../protocol/job-frames.js'
import { readJobSpec } from '../../../protocol/job-spec.js'
import { DEFAULT_LIMITS } from '../../../protocol/version.js'
import { startSampleTarget, type SampleTarget } from '../../support/target-server.js'

let target: SampleTarget
const executor = createExecutor({ connectTimeout: 2_000, maxHeaderSize: 64 * 1024 })
const dirs: string[] = []
before(async () => { target = await startSampleTarget() })
after(async () => {
  await target.close()
  await executor.close()
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

async function makeClient (dir: string, over: Partial<JobClientOptions> = {}): Promise<JobClient> {
  return await JobClient.create({
    outbox: await Outbox.open(dir),
    log: createLogger('silent'),
    bridge: 'b-1',
    fetch: { policy: new TargetPolicy(['127.0.0.1']), executor, credentialHeader: async () => undefined, defaultTimeout: 5_000, maxBodyBytes: 1 << 20 },
    ...over
  })
}

function tempDir (): string {
  const dir = mkdtempSync(join(tmpdir(), 'outbridge-client-'))
  dirs.push(dir)
  return dir
}

/** Polls `done` every few ms until it holds (at most 5 s). */
async function until (done: () => boolean): Promise<void> {
  for (const deadline = Date.now() + 5_000; !done(); await new Promise((resolve) => setTimeout(resolve, 5))) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
  }
}

let nextRun = 1
function offer (path: string, name = 'j', step: Record<string, unknown> = {}): JobOfferFrame {
  const spec = readJobSpec({ name, frequency: 'once', connection: { baseUrl: target.url }, steps: [{ kind: 'pull', path, maxPages: 1000, ...step }] })
  return { type: 'job_offer', job: `job-${name}`, run: nextRun++, attempt: 1, leaseMs: 30_000, spec }
}

/** Plays the cloud: records what the client sends, and acknowledges records unless told not to. */
class FakeCloud {
  readonly frames: AgentJobFrame[] = []
  acking = true
  constructor (readonly client: JobClient) {}
  readonly send = (frame: AgentJobFrame): boolean => {
    this.frames.push(frame)
    if (frame.type === 'job_records' && this.acking) setImmediate(() => this.client.receive(ackFor(frame)))
    return true
  }

  records (): JobRecordsFrame[] {
    return this.frames.filter((f): f is JobRecordsFrame => f.type === 'job_records')
  }
}

function ackFor (frame: JobRecordsFrame): CloudJobFrame {
  const last = frame.records[frame.records.length - 1]
  return { type: 'job_ack', job: frame.job, run: frame.run, attempt: frame.attempt, upTo: last.seq + 1, done: last.kind === 'final' }
}

test('an offered run is claimed, run, sent in batches within the window, and forgotten once acknowledged', async () => {
  const dir = tempDir()
  const client = await makeClient(dir, { frameBytes: 4096 })
  const cloud = new FakeCloud(client)
  client.attach(cloud.send, DEFAULT_LIMITS)
  const o = offer('/pages?pages=200')
  client.receive(o)
  await once(client, 'delivered')
  assert.deepEqual(cloud.frames[0], { type: 'job_state', job: o.job, run: o.run, attempt: 1, state: 'running', message: '' })
  const seqs = cloud.records().flatMap((f) => f.records.map((r) => r.seq))
  assert.deepEqual(seqs, Array.from({ length: 202 }, (_, i) => i), 'every record once, in order')
  assert.ok(cloud.records().length < 100, 'several pages per frame')
  assert.ok(cloud.records().every((f) => f.records.reduce((n, r) => n + (r.kind === 'page' ? r.body.byteLength + r.url.length : 0), 0) <= 4096))
  assert.equal(client.pending, 0)
  await client.close()
  const outbox = await Outbox.open(dir)
  assert.deepEqual([outbox.runs().length, outbox.isDone(o.job, o.run)], [0, true])
  await outbox.close()
})

test('unacknowledged records wait for the window; after a reconnect they are sent again from the first unacknowledged', async () => {
  const client = await makeClient(tempDir(), { frameBytes: 1024, windowBytes: 2048 })
  const cloud = new FakeCloud(client)
  cloud.acking = false
  client.attach(cloud.send, DEFAULT_LIMITS)
  const o = offer('/pages?pages=40')
  client.receive(o)
  await once(client, 'runner-ended')
  // Records are committed before they are sent, so the window fills a little after the run ends.
  for (const deadline = Date.now() + 5_000; cloud.records().length < 2 && Date.now() < deadline;) await new Promise((resolve) => setTimeout(resolve, 10))
  await new Promise((resolve) => setTimeout(resolve, 100))
  const sent = cloud.records()
  assert.ok(sent.length >= 2 && sent.reduce((n, f) => n + f.records.length, 0) < 42, 'the window holds the rest back')
  client.receive(ackFor(sent[0]))
  const acked = sent[0].records[sent[0].records.length - 1].seq + 1
  client.detach()
  cloud.frames.length = 0
  cloud.acking = true
  client.attach(cloud.send, DEFAULT_LIMITS)
  await once(client, 'delivered')
  assert.equal(cloud.frames[0].type, 'job_state', 'the run is claimed again first')
  const seqs = cloud.records().flatMap((f) => f.records.map((r) => r.seq))
  assert.deepEqual(seqs, Array.from({ length: 42 - acked }, (_, i) => acked + i))
  await client.close()
})

test('after a restart a finished run is delivered, never run again; an interrupted one is given back', async () => {
  const dir = tempDir()
  const first = await makeClient(dir)
  const cloud = new FakeCloud(first)
  cloud.acking = false
  first.attach(cloud.send, DEFAULT_LIMITS)
  const finished = offer('/pages?pages=3', 'finished')
  first.receive(finished)
  await once(first, 'finished')
  const interrupted = offer('/pages?pages=1000', 'cut', { pageDelayMs: 20 })
  first.receive(interrupted)
  await until(() => cloud.records().some((f) => f.job === interrupted.job))
  await first.close()

  const fetched = target.counters.get('GET /pages')
  const second = await makeClient(dir)
  const cloud2 = new FakeCloud(second)
  second.attach(cloud2.send, DEFAULT_LIMITS)
  second.receive({ ...finished, attempt: 2 })
  await once(second, 'delivered')
  assert.deepEqual(cloud2.frames.slice(0, 2).map((f) => f.type === 'job_state' ? [f.job, f.state] : f.type), [[interrupted.job, 'abandoned'], [finished.job, 'running']])
  assert.equal(target.counters.get('GET /pages'), fetched, 'nothing fetched again')
  assert.equal(cloud2.records().flatMap((f) => f.records).filter((r) => r.kind === 'final').length, 1)
  await second.close()
})

test('at most maxConcurrent runs execute; the rest wait their turn', async () => {
  const client = await makeClient(tempDir(), { maxConcurrent: 2 })
  const cloud = new FakeCloud(client)
  client.attach(cloud.send, DEFAULT_LIMITS)
  for (const name of ['a', 'b', 'c']) client.receive(offer('/pages?pages=20', name))
  assert.equal(client.executing, 3)
  assert.equal(cloud.frames.filter((f) => f.type === 'job_state').length, 0, 'claims follow the durable start')
  const states: number[] = []
  client.on('runner-ended', () => states.push(client.executing))
  while (client.pending > 0) await once(client, 'delivered')
  assert.deepEqual(states, [2, 1, 0])
  await client.close()
})

test('a poll resolves with the number of offers; a lost session resolves it with undefined', async () => {
  const client = await makeClient(tempDir())
  const cloud = new FakeCloud(client)
  client.attach(cloud.send, DEFAULT_LIMITS)
  const polled = client.poll('daily', 'x')
  assert.deepEqual(cloud.frames.at(-1), { type: 'job_poll', poll: 1, frequency: 'daily', name: 'x' })
  client.receive({ type: 'job_poll_end', poll: 1, offered: 0 })
  assert.equal(await polled, 0)
  const lost = client.poll('hourly')
  client.detach()
  assert.equal(await lost, undefined)
  await client.close()
})
