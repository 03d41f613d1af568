import assert from 'node:assert/strict'
import { test } from 'node:test'
import { decodeMessage, encodeMessage } from '../../protocol/codec.js'
import type { Frame } from '../../protocol/frames.js'
import { JOB_PART_BYTES, type JobFrame, type JobRecordsFrame, type PageRecord } from '../../protocol/job-frames.js'
import { JOB_LIMITS, JobSpecError, fieldAt, readJobSpec, stepUrl, type JobSpec } from '../../protocol/job-spec.js'
import { DEFAULT_LIMITS, HEAD_LIMITS } from '../../protocol/version.js'
import { msgpack, rawFrame } from './fixtures.js'

const LIMITS = { maxFrameBytes: DEFAULT_LIMITS.maxFrameBytes }

const SPEC: JobSpec = {
  name: 'orders',
  frequency: 'daily',
  bridge: 'acc-1',
  connection: { baseUrl: 'http://10.0.0.5:8080/api', credential: 'crm' },
  steps: [
    { kind: 'request', name: 'login', path: '/login', headers: ['content-type', 'application/json'], timeoutMs: 5000, method: 'POST', body: Buffer.from('{"a":1}') },
    { kind: 'pull', name: 'items', path: '/items?page=1', headers: [], timeoutMs: 0, nextFrom: 'field', nextField: 'meta.next', maxPages: 1000, itemsField: 'data', pageDelayMs: 10 }
  ]
}

const key = { job: 'j-1', run: 3, attempt: 2 }

const FRAMES: readonly JobFrame[] = [
  { type: 'job_offer', ...key, leaseMs: 30_000, spec: SPEC },
  { type: 'job_state', ...key, state: 'running', message: '' },
  { type: 'job_state', ...key, state: 'abandoned', message: 'restarted' },
  {
    type: 'job_records',
    ...key,
    records: [
      { kind: 'page', seq: 0, step: 1, page: 1, part: 0, last: true, url: 'http://10.0.0.5:8080/api/items?page=1', status: 200, body: Buffer.from('{"data":[1]}') },
      { kind: 'step', seq: 1, step: 1, state: 'failed', status: 503, message: 'page 1 answered 503', headers: ['content-type', 'application/json'], truncated: false, startedAt: 1_700_000_000_000, durationMs: 12 },
      { kind: 'step', seq: 2, step: 0, state: 'failed', code: 'TARGET_TIMEOUT', message: 'slow', headers: [], truncated: true, startedAt: 1_700_000_000_001, durationMs: 5000 },
      { kind: 'final', seq: 3, state: 'failed', startedAt: 1_700_000_000_000, finishedAt: 1_700_000_005_000 }
    ]
  },
  { type: 'job_ack', ...key, upTo: 4, done: true },
  { type: 'job_poll', poll: 7, frequency: 'hourly', name: 'orders' },
  { type: 'job_poll', poll: 8, frequency: 'monthly' },
  { type: 'job_poll_end', poll: 7, offered: 2 }
]

test('round-trips every job frame type', () => {
  for (const frame of FRAMES) {
    const { frames, error } = decodeMessage(encodeMessage([frame as Frame]), LIMITS)
    assert.equal(error, undefined, frame.type)
    assert.deepEqual(frames, [frame])
  }
})

test('a page body of any JSON depth travels as bytes, never against the head depth limit', () => {
  const deep = JSON.stringify(Array.from({ length: 50 }).reduce<unknown>((inner) => ({ inner }), 1))
  const frame: JobFrame = { type: 'job_records', ...key, records: [{ kind: 'page', seq: 0, step: 0, page: 1, part: 0, last: true, url: 'http://h/x', status: 200, body: Buffer.from(deep) }] }
  const { frames, error } = decodeMessage(encodeMessage([frame]), LIMITS)
  assert.equal(error, undefined)
  const record = (frames[0] as JobRecordsFrame).records[0] as PageRecord
  assert.equal(Buffer.from(record.body).toString(), deep)
  assert.ok(HEAD_LIMITS.maxDepth < 50)
})

test('a part-sized page record fits a frame well under the limits', () => {
  const frame: JobFrame = { type: 'job_records', ...key, records: [{ kind: 'page', seq: 0, step: 0, page: 1, part: 0, last: false, url: 'http://h/x', status: 200, body: Buffer.alloc(JOB_PART_BYTES) }] }
  const bytes = encodeMessage([frame]).byteLength
  assert.ok(bytes < HEAD_LIMITS.maxHeadBytes && bytes < DEFAULT_LIMITS.maxFrameBytes / 4, `${bytes} bytes`)
})

test('malformed job frames decode as PROTOCOL_ERROR naming stream 0, never throw', () => {
  const cases: ReadonlyArray<readonly [string, Buffer]> = [
    ['offer with a bad frequency', rawFrame('job_offer', 0, msgpack({ ...key, leaseMs: 1, spec: { ...SPEC, frequency: 'yearly' } }))],
    ['offer without steps', rawFrame('job_offer', 0, msgpack({ ...key, leaseMs: 1, spec: { ...SPEC, steps: [] } }))],
    ['state of an unknown kind', rawFrame('job_state', 0, msgpack({ ...key, state: 'paused' }))],
    ['records with a string body', rawFrame('job_records', 0, msgpack({ ...key, records: [{ kind: 'page', seq: 0, step: 0, page: 1, part: 0, url: 'u', status: 200, body: 'text' }] }))],
    ['records, none', rawFrame('job_records', 0, msgpack({ ...key, records: [] }))],
    ['ack with run 0', rawFrame('job_ack', 0, msgpack({ ...key, run: 0, upTo: 1 }))],
    ['poll end on stream 1', rawFrame('job_poll_end', 1, msgpack({ poll: 1, offered: 0 }))]
  ]
  for (const [name, bytes] of cases) {
    const { frames, error } = decodeMessage(bytes, LIMITS)
    assert.equal(error?.code, 'PROTOCOL_ERROR', name)
    assert.equal(frames[0]?.type, 'invalid', name)
  }
})

test('readJobSpec applies defaults and refuses bad jobs with a JobSpecError', () => {
  const spec = readJobSpec({ name: 'n', frequency: 'once', connection: { baseUrl: 'https://db.corp.example' }, steps: [{ kind: 'request', path: '/a' }, { kind: 'pull', path: '/b' }] })
  assert.deepEqual(spec.steps, [
    { kind: 'request', name: 'step-1', path: '/a', headers: [], timeoutMs: 0, method: 'GET' },
    { kind: 'pull', name: 'step-2', path: '/b', headers: [], timeoutMs: 0, nextFrom: 'link', maxPages: JOB_LIMITS.defaultMaxPages, pageDelayMs: 0 }
  ])
  const good = { name: 'n', frequency: 'once', connection: { baseUrl: 'http://h' }, steps: [{ kind: 'request', path: '/' }] }
  const bad: ReadonlyArray<Record<string, unknown>> = [
    { ...good, name: '' },
    { ...good, connection: { baseUrl: 'ftp://h' } },
    { ...good, connection: { baseUrl: 'http://user:pw@h' } },
    { ...good, connection: { baseUrl: 'http://h/?q=1' } },
    { ...good, steps: [{ kind: 'request', path: 'no-slash' }] },
    { ...good, steps: [{ kind: 'pull', path: '/', nextFrom: 'field' }] },
    { ...good, steps: [{ kind: 'pull', path: '/', nextField: 'a..b' }] },
    { ...good, steps: [{ kind: 'pull', path: '/', maxPages: 0 }] },
    { ...good, steps: [{ kind: 'request', path: '/', headers: ['bad name', 'x'] }] },
    { ...good, steps: [{ kind: 'request', path: '/', body: Buffer.alloc(JOB_LIMITS.maxBodyBytes + 1) }] },
    { ...good, steps: Array.from({ length: JOB_LIMITS.maxSteps + 1 }, () => ({ kind: 'request', path: '/' })) },
    { ...good, steps: [{ kind: 'walk', path: '/' }] }
  ]
  for (const value of bad) assert.throws(() => readJobSpec(value), JobSpecError, JSON.stringify(value).slice(0, 120))
})

test('stepUrl joins base and path; fieldAt reads dotted fields', () => {
  assert.equal(stepUrl('http://h/api/', '/items?x=1'), 'http://h/api/items?x=1')
  assert.equal(stepUrl('http://h', '/'), 'http://h/')
  assert.equal(fieldAt({ meta: { next: '/p2' } }, 'meta.next'), '/p2')
  assert.equal(fieldAt({ meta: null }, 'meta.next'), undefined)
  assert.equal(fieldAt({ items: [] }, 'toString'), undefined)
})
