import assert from 'node:assert/strict'
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import type { JobSpec } from '../../../protocol/job-spec.js'
import { Outbox, type RecordInput } from '../../../agent/jobs/outbox.js'

const dirs: string[] = []
after(() => { for (const dir of dirs) rmSync(dir, { recursive: true, force: true }) })

function tempDir (): string {
  const dir = mkdtempSync(join(tmpdir(), 'outbridge-outbox-'))
  dirs.push(dir)
  return dir
}

const SPEC: JobSpec = { name: 'n', frequency: 'once', connection: { baseUrl: 'http://h' }, steps: [{ kind: 'request', name: 's', path: '/', headers: [], timeoutMs: 0, method: 'POST', body: Buffer.from('x') }] }
const page = (n: number, bytes = 10): RecordInput => ({ kind: 'page', step: 0, page: n, part: 0, last: true, url: `http://h/${n}`, status: 200, body: Buffer.alloc(bytes, n) })
const FINAL: RecordInput = { kind: 'final', state: 'succeeded', startedAt: 1, finishedAt: 2 }

test('records are numbered in order, survive a reopen, and FINAL marks the run finished in the same write', async () => {
  const dir = tempDir()
  let outbox = await Outbox.open(dir)
  await outbox.begin('j', 1, 1, SPEC, 100)
  assert.equal(await outbox.append('j', 1, [page(1), page(2)]), 2)
  assert.equal(outbox.get('j', 1)?.state, 'running')
  assert.equal(await outbox.append('j', 1, [FINAL]), 3)
  await assert.rejects(outbox.append('j', 1, [page(3)]))
  await outbox.close()

  outbox = await Outbox.open(dir)
  const [run] = outbox.runs()
  assert.deepEqual([run.job, run.run, run.attempt, run.state, run.outcome, run.nextSeq, run.ackedUpTo], ['j', 1, 1, 'finished', 'succeeded', 3, 0])
  assert.deepEqual(Buffer.from((run.spec.steps[0] as { body: Uint8Array }).body).toString(), 'x')
  const records = outbox.read('j', 1, 0, 1 << 20, 100)
  assert.deepEqual(records.map((r) => [r.seq, r.kind]), [[0, 'page'], [1, 'page'], [2, 'final']])
  assert.deepEqual(Buffer.from((records[1] as { body: Uint8Array }).body), Buffer.alloc(10, 2))
  await outbox.close()
})

test('read stops near maxBytes (at least one record); acknowledged records are deleted; complete leaves a tombstone', async () => {
  const outbox = await Outbox.open(tempDir())
  await outbox.begin('j', 2, 1, SPEC, 100)
  await outbox.append('j', 2, [page(1, 1000), page(2, 1000), page(3, 1000), FINAL])
  assert.equal(outbox.read('j', 2, 0, 10, 100).length, 1)
  assert.equal(outbox.read('j', 2, 0, 2200, 100).length, 2)
  assert.equal(outbox.read('j', 2, 0, 1 << 20, 3).length, 3)
  await outbox.acknowledge('j', 2, 2)
  assert.deepEqual(outbox.read('j', 2, 0, 1 << 20, 100).map((r) => r.seq), [2, 3])
  assert.equal(outbox.get('j', 2)?.ackedUpTo, 2)
  assert.equal(outbox.isDone('j', 2), false)
  await outbox.complete('j', 2)
  assert.deepEqual([outbox.runs().length, outbox.isDone('j', 2), outbox.read('j', 2, 0, 1 << 20, 100).length], [0, true, 0])
  await outbox.close()
})

test('abandon drops a run and its records without a tombstone', async () => {
  const outbox = await Outbox.open(tempDir())
  await outbox.begin('j', 3, 4, SPEC, 100)
  await outbox.append('j', 3, [page(1)])
  await outbox.abandon('j', 3)
  assert.deepEqual([outbox.get('j', 3), outbox.isDone('j', 3), outbox.read('j', 3, 0, 1 << 20, 100).length], [undefined, false, 0])
  await outbox.close()
})

test('the outbox files are private to the owner', async () => {
  const dir = tempDir()
  const outbox = await Outbox.open(dir)
  await outbox.begin('j', 1, 1, SPEC, 1)
  await outbox.close()
  const files = readdirSync(dir)
  assert.deepEqual(files.sort(), ['jobs.lmdb', 'jobs.lmdb-lock'])
  for (const file of files) assert.equal(statSync(join(dir, file)).mode & 0o077, 0, file)
})
