import assert from 'node:assert/strict'
import { test } from 'node:test'
import { OutbridgeError } from '../../protocol/errors.js'
import type { JobRecord, JobRecordsFrame } from '../../protocol/job-frames.js'
import { readJobSpec, type JobSpec } from '../../protocol/job-spec.js'
import { JobStore, nextDueAt, type LeaseHolder } from '../../mock-cloud/job-store.js'
import { parseJobJson } from '../../mock-cloud/jobs-api.js'

const A: LeaseHolder = { id: 's-a', name: 'bridge-a', clientId: 'acc-1' }
const B: LeaseHolder = { id: 's-b', name: 'bridge-b', clientId: 'acc-2' }
const HOUR = 3_600_000

function spec (over: Record<string, unknown> = {}): JobSpec {
  return readJobSpec({ name: 'sync', frequency: 'once', connection: { baseUrl: 'http://10.0.0.5' }, steps: [{ kind: 'pull', path: '/p', itemsField: 'items' }], ...over })
}

function clock (start = Date.UTC(2030, 0, 31, 12)): { now: () => number, advance: (ms: number) => void } {
  let t = start
  return { now: () => t, advance: (ms) => { t += ms } }
}

const page = (seq: number, n: number): JobRecord => ({ kind: 'page', seq, step: 0, page: n, part: 0, last: true, url: `http://10.0.0.5/p?page=${n}`, status: 200, body: Buffer.from(JSON.stringify({ items: [n] })) })
const step = (seq: number): JobRecord => ({ kind: 'step', seq, step: 0, state: 'succeeded', message: '', headers: [], truncated: false, startedAt: 0, durationMs: 5 })
const final = (seq: number): JobRecord => ({ kind: 'final', seq, state: 'succeeded', startedAt: 0, finishedAt: 9 })
const frame = (job: string, attempt: number, records: JobRecord[], run = 1): JobRecordsFrame => ({ type: 'job_records', job, run, attempt, records })

test('records are taken in seq order: duplicates dropped, a gap waits, FINAL records the run exactly once', () => {
  const store = new JobStore()
  const id = store.create(spec())
  const [offer] = store.lease(A, {}, 10)
  assert.deepEqual([offer.job, offer.run, offer.attempt], [id, 1, 1])
  assert.deepEqual(store.lease(B, {}, 10), [], 'a leased job is not offered again')
  assert.equal(store.view(id)?.state, 'running')
  assert.deepEqual(store.record(A, frame(id, 1, [page(0, 1), page(1, 2)])), { upTo: 2, done: false, recorded: false })
  assert.deepEqual(store.record(A, frame(id, 1, [page(1, 2), page(3, 4)])), { upTo: 2, done: false, recorded: false }, 'seq 1 again, then a gap')
  assert.deepEqual(store.record(A, frame(id, 1, [page(2, 3), page(3, 4), step(4), final(5)])), { upTo: 6, done: true, recorded: true })
  assert.deepEqual(store.record(A, frame(id, 1, [final(5)])), { upTo: 0, done: true, recorded: false }, 'a re-sent FINAL is acknowledged, not recorded')
  const view = store.view(id)
  assert.deepEqual([view?.state, view?.runs, view?.results.length, view?.duplicates, view?.nextDueAt], ['succeeded', 1, 1, 1, null])
  assert.deepEqual(view?.results[0].steps[0].items, [1, 2, 3, 4])
  assert.deepEqual(store.lease(A, {}, 10), [], 'a once job that ran is not due again')
})

test('a lease is renewed while its holder is connected and offered again (next attempt) once it runs out', () => {
  const c = clock()
  const store = new JobStore({ leaseMs: 1000, now: c.now })
  const id = store.create(spec())
  store.lease(A, {}, 1)
  c.advance(5000)
  store.refresh((holder) => holder === A.id)
  assert.deepEqual(store.lease(B, {}, 1), [], 'renewed while A is connected')
  c.advance(999)
  store.refresh(() => false)
  assert.deepEqual(store.lease(B, {}, 1), [])
  c.advance(2)
  store.refresh(() => false)
  const [again] = store.lease(B, {}, 1)
  assert.deepEqual([again.job, again.run, again.attempt], [id, 1, 2])
  assert.equal(store.view(id)?.attempts, 2)
})

test('whichever attempt finishes first is recorded; the other is told the run is done', () => {
  const c = clock()
  const store = new JobStore({ leaseMs: 10, now: c.now })
  const id = store.create(spec())
  store.lease(A, {}, 1)
  c.advance(11)
  store.refresh(() => false)
  store.lease(B, {}, 1)
  store.record(A, frame(id, 1, [page(0, 1)]))
  assert.deepEqual(store.record(B, frame(id, 2, [page(0, 1), step(1), final(2)])).recorded, true)
  assert.deepEqual(store.record(A, frame(id, 1, [step(1), final(2)])), { upTo: 0, done: true, recorded: false })
  assert.deepEqual([store.view(id)?.results.length, store.view(id)?.results[0].attempt, store.view(id)?.results[0].bridge], [1, 2, 'bridge-b'])
})

test('an abandoned attempt is offered again at once; a claim moves the lease; a finished run cannot be claimed', () => {
  const store = new JobStore()
  const id = store.create(spec())
  store.lease(A, {}, 1)
  store.record(A, frame(id, 1, [page(0, 1)]))
  store.release(id, 1, 1)
  const [again] = store.lease(B, {}, 1)
  assert.equal(again.attempt, 2)
  assert.equal(store.claim(A, id, 1, 1), true)
  assert.equal(store.held(A.id), 1)
  assert.equal(store.held(B.id), 0)
  store.record(A, frame(id, 1, [page(0, 1), step(1), final(2)]))
  assert.equal(store.claim(A, id, 1, 1), false)
  assert.equal(store.claim(A, 'no-such-job', 1, 1), false)
})

test('a recurring job is due again after its period, on its schedule', () => {
  const c = clock()
  const store = new JobStore({ now: c.now })
  const id = store.create(spec({ frequency: 'hourly' }))
  store.lease(A, {}, 1)
  c.advance(3 * HOUR + 60_000)
  store.record(A, frame(id, 1, [step(0), final(1)]))
  assert.equal(store.view(id)?.nextDueAt, new Date(c.now() - 60_000 + HOUR).toISOString(), 'no catch-up burst')
  assert.deepEqual(store.lease(A, {}, 1), [])
  c.advance(HOUR)
  assert.equal(store.lease(A, {}, 1)[0]?.run, 2)
  const jan31 = Date.UTC(2030, 0, 31, 6)
  assert.equal(nextDueAt('monthly', jan31, jan31), Date.UTC(2030, 1, 28, 6), 'clamped to the month\'s last day')
  assert.equal(nextDueAt('monthly', jan31, Date.UTC(2030, 2, 1)), Date.UTC(2030, 2, 31, 6), 'without drifting')
  assert.equal(nextDueAt('weekly', 0, 1), 7 * 24 * HOUR)
  assert.equal(nextDueAt('daily', 0, 24 * HOUR), 48 * HOUR)
  assert.equal(nextDueAt('once', 0, 1), undefined)
})

test('polls filter by frequency and name; the bridge selector matches a name or client id', () => {
  const store = new JobStore()
  store.create(spec({ name: 'h', frequency: 'hourly' }))
  store.create(spec({ name: 'd1', frequency: 'daily', bridge: 'bridge-b' }))
  store.create(spec({ name: 'd2', frequency: 'daily', bridge: 'acc-1' }))
  store.create(spec({ name: 'd3', frequency: 'daily' }))
  assert.deepEqual(store.lease(A, { frequency: 'daily', name: 'd3' }, 10).map((o) => o.spec.name), ['d3'])
  assert.deepEqual(store.lease(A, { frequency: 'daily' }, 10).map((o) => o.spec.name), ['d2'])
  assert.deepEqual(store.lease(B, {}, 10).map((o) => o.spec.name), ['h', 'd1'])
})

test('the API\'s JSON form: header objects, text or base64 bodies; a bad job is BAD_REQUEST', () => {
  const parsed = parseJobJson({
    name: 'n', frequency: 'once', connection: { baseUrl: 'http://h' },
    steps: [
      { kind: 'request', method: 'PUT', path: '/a', headers: { 'x-a': '1', 'x-b': ['2', '3'] }, body: 'aGk=', bodyEncoding: 'base64' },
      { kind: 'request', path: '/b', body: 'text' }
    ]
  })
  const [a, b] = parsed.steps
  assert.deepEqual(a.headers, ['x-a', '1', 'x-b', '2', 'x-b', '3'])
  assert.deepEqual(a.kind === 'request' ? Buffer.from(a.body ?? []).toString() : '', 'hi')
  assert.deepEqual(b.kind === 'request' ? Buffer.from(b.body ?? []).toString() : '', 'text')
  const isBadRequest = (err: unknown): boolean => err instanceof OutbridgeError && err.code === 'BAD_REQUEST'
  for (const bad of [null, [], { name: 'n' }, { name: 'n', frequency: 'once', connection: { baseUrl: 'http://h' }, steps: [{ kind: 'request', path: '/', headers: ['x'] }] }]) {
    assert.throws(() => parseJobJson(bad), isBadRequest, JSON.stringify(bad))
  }
})
