import assert from 'node:assert/strict'
import { test } from 'node:test'
import { CallTrace, DEFAULT_RECENT_CALLS, RecentCalls, displayUrl } from '../../mock-cloud/recent-calls.js'
import type { CallRecord } from '../../mock-cloud/recent-calls.js'

function call (n: number, overrides: Partial<CallRecord> = {}): CallRecord {
  return {
    startedAt: Date.UTC(2024, 0, 1, 0, 0, n),
    api: 'call',
    bridge: 'b',
    session: 's',
    attempts: 1,
    method: 'GET',
    url: `http://10.0.0.5/${n}`,
    status: 200,
    code: null,
    durationMs: n,
    requestBytes: 0,
    responseBytes: n,
    ...overrides
  }
}

test('keeps 200 calls by default', () => {
  assert.equal(DEFAULT_RECENT_CALLS, 200)
  assert.equal(new RecentCalls().capacity, 200)
})

test('lists newest first, with the arrival time as ISO 8601', () => {
  const recent = new RecentCalls(10)
  for (let n = 1; n <= 3; n++) recent.record(call(n))
  const listed = recent.list()
  assert.deepEqual(listed.map((c) => c.url), ['http://10.0.0.5/3', 'http://10.0.0.5/2', 'http://10.0.0.5/1'])
  assert.equal(listed[0].time, '2024-01-01T00:00:03.000Z')
  assert.equal('startedAt' in listed[0], false)
})

test('drops the oldest once full, and honours a limit', () => {
  const recent = new RecentCalls(3)
  for (let n = 1; n <= 7; n++) recent.record(call(n))
  assert.equal(recent.size, 3)
  assert.deepEqual(recent.list().map((c) => c.durationMs), [7, 6, 5])
  assert.deepEqual(recent.list(2).map((c) => c.durationMs), [7, 6])
  assert.deepEqual(recent.list(50).map((c) => c.durationMs), [7, 6, 5])
})

test('starts empty and refuses a capacity below 1', () => {
  assert.deepEqual(new RecentCalls(5).list(), [])
  assert.throws(() => new RecentCalls(0), RangeError)
  assert.throws(() => new RecentCalls(1.5), RangeError)
})

test('displayUrl drops user:password@ and leaves every other URL as it is', () => {
  assert.equal(displayUrl('http://user:pw@10.0.0.5:8080/a?b=1'), 'http://10.0.0.5:8080/a?b=1')
  assert.equal(displayUrl('https://token@host.example/'), 'https://host.example/')
  assert.equal(displayUrl('http://10.0.0.5/path?email=a@b.example'), 'http://10.0.0.5/path?email=a@b.example')
  assert.equal(displayUrl('http://10.0.0.5/x'), 'http://10.0.0.5/x')
  assert.equal(displayUrl('not a url @ all'), 'not a url @ all')
})

test('a trace records once, with what the handler filled in', () => {
  const recent = new RecentCalls(5)
  const trace = new CallTrace(recent, 'relay')
  trace.method = 'POST'
  trace.url = 'http://u:p@10.0.0.5/items'
  trace.call = { session: { name: 'acc-1', id: 'sess-1' }, attempts: 2 }
  trace.status = 201
  trace.requestBytes = 10
  trace.responseBytes = 20
  trace.finish(201, null)
  trace.finish(null, 'CANCELLED')
  assert.equal(trace.finished, true)
  const [record, ...rest] = recent.list()
  assert.equal(rest.length, 0)
  assert.ok(record.durationMs >= 0)
  assert.deepEqual({ ...record, time: undefined, durationMs: undefined }, {
    time: undefined,
    durationMs: undefined,
    api: 'relay',
    bridge: 'acc-1',
    session: 'sess-1',
    attempts: 2,
    method: 'POST',
    url: 'http://10.0.0.5/items',
    status: 201,
    code: null,
    requestBytes: 10,
    responseBytes: 20
  })
})

test('a trace of a call that never reached a bridge names none', () => {
  const recent = new RecentCalls(5)
  new CallTrace(recent, 'call').finish(null, 'BAD_REQUEST')
  const [record] = recent.list()
  assert.equal(record.bridge, null)
  assert.equal(record.session, null)
  assert.equal(record.attempts, 0)
  assert.equal(record.code, 'BAD_REQUEST')
  assert.equal(record.url, '')
})
