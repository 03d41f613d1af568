/**
 * The bridge's durable job outbox: lmdb (which shares msgpackr's encoding) in `--data-dir`.
 * lmdb enters the code base here. Every run the bridge starts is written here before its first
 * request, every record before it is sent, and a run is marked finished in the same commit as
 * its FINAL record, so a run that finished is never run again, whatever happens before the
 * cloud acknowledges it. Records stay until acknowledged; an acknowledged run leaves a small
 * tombstone so a late re-offer of it is recognised.
 *
 * Sub-databases: `runs` [job, run] -> OutboxRun · `records` [job, run, seq] -> JobRecord ·
 * `done` [job, run] -> epoch ms. Writes are asynchronous and batched by lmdb; each method's
 * promise resolves once its writes are committed (flushed to disk).
 */
import { chmod, mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { open, type Database, type RootDatabase } from 'lmdb'
import type { FinalRecord, JobRecord, PageRecord, StepRecord } from '../../protocol/job-frames.js'
import type { JobSpec } from '../../protocol/job-spec.js'

/** A record before the outbox numbers it. */
export type RecordInput = Omit<PageRecord, 'seq'> | Omit<StepRecord, 'seq'> | Omit<FinalRecord, 'seq'>

/** One run as the outbox keeps it. */
export interface OutboxRun {
  readonly job: string
  readonly run: number
  /** The attempt under which this bridge started the run. */
  readonly attempt: number
  readonly spec: JobSpec
  /** `finished` once the FINAL record is written. */
  readonly state: 'running' | 'finished'
  /** The outcome, once finished. */
  readonly outcome?: 'succeeded' | 'failed'
  /** `seq` of the next record to write. */
  readonly nextSeq: number
  /** Every record with a lower `seq` was acknowledged (and deleted here). */
  readonly ackedUpTo: number
  /** Epoch ms. */
  readonly startedAt: number
}

type RunKey = [string, number]

/** Tombstones of acknowledged runs are kept this long, in ms. */
const TOMBSTONE_TTL = 7 * 24 * 3600 * 1000

/** Approximate encoded size of a record, in bytes (for frame budgets). */
export function recordBytes (record: RecordInput | JobRecord): number {
  switch (record.kind) {
    case 'page': return 64 + record.url.length + record.body.byteLength
    case 'step': return 96 + record.message.length + record.headers.reduce((n, s) => n + s.length + 2, 0)
    case 'final': return 64
  }
}

export class Outbox {
  readonly #root: RootDatabase
  readonly #runs: Database<OutboxRun, RunKey>
  readonly #records: Database<JobRecord, [string, number, number]>
  readonly #done: Database<number, RunKey>
  readonly #cache = new Map<string, OutboxRun>()

  private constructor (root: RootDatabase) {
    this.#root = root
    this.#runs = root.openDB<OutboxRun, RunKey>('runs', { encoding: 'msgpack' })
    this.#records = root.openDB<JobRecord, [string, number, number]>('records', { encoding: 'msgpack' })
    this.#done = root.openDB<number, RunKey>('done', { encoding: 'msgpack' })
    for (const { value } of this.#runs.getRange({})) this.#cache.set(keyOf(value.job, value.run), value)
  }

  /**
   * Opens the outbox in `dataDir/jobs.lmdb` (plus its `-lock` file), dropping old tombstones.
   * The directory is created 0700 and both files are kept 0600: they hold what jobs pulled
   * from private systems.
   */
  static async open (dataDir: string): Promise<Outbox> {
    await mkdir(dataDir, { recursive: true, mode: 0o700 })
    const path = join(dataDir, 'jobs.lmdb')
    // lmdb would create its files 0644: create them (empty, which lmdb takes as new) owner-only first.
    for (const file of [path, `${path}-lock`]) {
      await writeFile(file, '', { flag: 'a', mode: 0o600 })
      await chmod(file, 0o600)
    }
    const outbox = new Outbox(open({ path, encoding: 'msgpack' }))
    await outbox.#pruneTombstones(Date.now())
    return outbox
  }

  /** Every run held, oldest first. */
  runs (): OutboxRun[] {
    return [...this.#cache.values()].sort((a, b) => a.startedAt - b.startedAt)
  }

  get (job: string, run: number): OutboxRun | undefined {
    return this.#cache.get(keyOf(job, run))
  }

  /** True when the cloud acknowledged run `run` of `job` as done. */
  isDone (job: string, run: number): boolean {
    return this.#done.get([job, run]) !== undefined
  }

  /** Records the start of a run, before its first request. */
  async begin (job: string, run: number, attempt: number, spec: JobSpec, startedAt: number): Promise<OutboxRun> {
    const entry: OutboxRun = { job, run, attempt, spec, state: 'running', nextSeq: 0, ackedUpTo: 0, startedAt }
    this.#cache.set(keyOf(job, run), entry)
    await this.#runs.put([job, run], entry)
    return entry
  }

  /**
   * Numbers and writes records of a running run (a FINAL record also marks it finished, in the
   * same commit). Resolves with the run's `nextSeq` once committed: records below it may be sent.
   */
  async append (job: string, run: number, records: readonly RecordInput[]): Promise<number> {
    const entry = this.#cache.get(keyOf(job, run))
    if (entry === undefined || entry.state !== 'running') throw new Error(`outbox: run ${run} of job ${job} is not running`)
    let next = entry.nextSeq
    const numbered = records.map((r) => ({ ...r, seq: next++ }) as JobRecord)
    const final = numbered.find((r) => r.kind === 'final')
    const updated: OutboxRun = final === undefined
      ? { ...entry, nextSeq: next }
      : { ...entry, nextSeq: next, state: 'finished', outcome: final.state }
    this.#cache.set(keyOf(job, run), updated)
    await this.#root.batch(() => {
      for (const r of numbered) void this.#records.put([job, run, r.seq], r)
      void this.#runs.put([job, run], updated)
    })
    return next
  }

  /** Records of a run from `fromSeq` on, in order, until about `maxBytes` (at least one). */
  read (job: string, run: number, fromSeq: number, maxBytes: number, maxRecords: number): JobRecord[] {
    const out: JobRecord[] = []
    let bytes = 0
    for (const { value } of this.#records.getRange({ start: [job, run, fromSeq], end: [job, run, Number.MAX_SAFE_INTEGER] })) {
      const size = recordBytes(value)
      if (out.length > 0 && (bytes + size > maxBytes || out.length >= maxRecords)) break
      out.push(value)
      bytes += size
    }
    return out
  }

  /** The cloud recorded every record below `upTo`: delete them. */
  async acknowledge (job: string, run: number, upTo: number): Promise<void> {
    const entry = this.#cache.get(keyOf(job, run))
    if (entry === undefined || upTo <= entry.ackedUpTo) return
    const updated: OutboxRun = { ...entry, ackedUpTo: Math.min(upTo, entry.nextSeq) }
    this.#cache.set(keyOf(job, run), updated)
    await this.#root.batch(() => {
      for (let seq = entry.ackedUpTo; seq < updated.ackedUpTo; seq++) void this.#records.remove([job, run, seq])
      void this.#runs.put([job, run], updated)
    })
  }

  /** The cloud has the whole run: forget it, keeping a tombstone. */
  async complete (job: string, run: number): Promise<void> {
    await this.#forget(job, run, Date.now())
  }

  /** Drops a run this bridge can no longer finish (it was interrupted by a restart). */
  async abandon (job: string, run: number): Promise<void> {
    await this.#forget(job, run, undefined)
  }

  async close (): Promise<void> {
    await this.#root.close()
  }

  async #forget (job: string, run: number, tombstone: number | undefined): Promise<void> {
    this.#cache.delete(keyOf(job, run))
    const keys = [...this.#records.getKeys({ start: [job, run, 0], end: [job, run, Number.MAX_SAFE_INTEGER] })]
    await this.#root.batch(() => {
      for (const key of keys) void this.#records.remove(key)
      void this.#runs.remove([job, run])
      if (tombstone !== undefined) void this.#done.put([job, run], tombstone)
    })
  }

  async #pruneTombstones (now: number): Promise<void> {
    const old = [...this.#done.getRange({})].filter(({ value }) => now - value > TOMBSTONE_TTL).map(({ key }) => key)
    if (old.length > 0) await this.#root.batch(() => { for (const key of old) void this.#done.remove(key) })
  }
}

function keyOf (job: string, run: number): string {
  return `${run}@${job}`
}
