/**
 * The mock cloud's sync jobs: schedules, leases and results, in memory. A job is due when
 * created and, unless it runs `once`, again after each period. A due job is leased to one
 * bridge session at a time: the lease lasts `leaseMs` and is renewed while the holder is
 * connected; when it runs out without a result the run is offered again (a new attempt).
 * Records are taken per (job, run, attempt) strictly in `seq` order, so a re-sent record is
 * dropped and each run's result is recorded exactly once, from whichever attempt finishes first.
 */
import { randomUUID } from 'node:crypto'
import type { JobOfferFrame, JobRecordsFrame } from '../protocol/job-frames.js'
import type { JobFrequency, JobSpec } from '../protocol/job-spec.js'
import { RunAssembly, type RunResult } from './job-results.js'

/** Who holds a lease: a bridge session. */
export interface LeaseHolder { readonly id: string, readonly name: string, readonly clientId: string }

export interface JobStoreOptions {
  /** How long a lease lasts without word from its holder, in ms. @default 30_000 */
  readonly leaseMs: number
  /** Finished runs kept per job. @default 20 */
  readonly maxResults: number
  /** Clock, epoch ms. @default Date.now */
  readonly now: () => number
}

export const JOB_STORE_DEFAULTS: JobStoreOptions = Object.freeze({ leaseMs: 30_000, maxResults: 20, now: Date.now })

export type JobState = 'pending' | 'running' | 'succeeded' | 'failed'

/** One entry of `GET /api/jobs`. */
export interface JobSummary {
  readonly id: string
  readonly name: string
  readonly frequency: JobFrequency
  readonly bridge: string | null
  readonly state: JobState
  readonly createdAt: string
  /** When the job is next due (ISO 8601); null for a `once` job that ran. */
  readonly nextDueAt: string | null
  /** Finished runs. */
  readonly runs: number
  /** Offers made for the current run (or the last one). */
  readonly attempts: number
  readonly lastRun: { readonly run: number, readonly state: 'succeeded' | 'failed', readonly finishedAt: string, readonly durationMs: number } | null
}

/** `GET /api/jobs/:id`: the summary, the job's shape, and the kept results (newest last). */
export interface JobView extends JobSummary {
  readonly baseUrl: string
  readonly steps: ReadonlyArray<{ readonly name: string, readonly kind: string, readonly path: string }>
  /** Records received again and dropped (re-sent after a reconnect or restart). */
  readonly duplicates: number
  readonly results: readonly RunResult[]
}

interface Lease { holder: LeaseHolder, attempt: number, expiresAt: number }
interface CurrentRun { readonly run: number, attempts: number, lease?: Lease, readonly partials: Map<number, RunAssembly> }
interface StoredJob {
  readonly id: string
  readonly spec: JobSpec
  readonly createdAt: number
  nextRun: number
  dueAt: number | undefined
  current?: CurrentRun
  readonly results: RunResult[]
  finished: number
  duplicates: number
}

const PERIOD_MS: Readonly<Record<Exclude<JobFrequency, 'once' | 'monthly'>, number>> = { hourly: 3_600_000, daily: 86_400_000, weekly: 604_800_000 }

/** `anchor` plus `k` calendar months (UTC), the day clamped to the month's last: Jan 31 + 1 = Feb 28. */
function addMonths (anchor: number, k: number): number {
  const d = new Date(anchor)
  const month = d.getUTCMonth() + k
  const lastDay = new Date(Date.UTC(d.getUTCFullYear(), month + 1, 0)).getUTCDate()
  return Date.UTC(d.getUTCFullYear(), month, Math.min(d.getUTCDate(), lastDay), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), d.getUTCMilliseconds())
}

/**
 * The first time after `now` on the schedule that starts at `anchor` (the job's creation):
 * runs missed while no bridge was there are not caught up in a burst. Undefined for `once`.
 */
export function nextDueAt (frequency: JobFrequency, anchor: number, now: number): number | undefined {
  if (frequency === 'once') return undefined
  if (frequency !== 'monthly') {
    const period = PERIOD_MS[frequency]
    return anchor + (Math.floor(Math.max(0, now - anchor) / period) + 1) * period
  }
  let k = 1
  while (addMonths(anchor, k) <= now) k++
  return addMonths(anchor, k)
}

function selects (spec: JobSpec, holder: LeaseHolder): boolean {
  const b = spec.bridge
  return b === undefined || b === '_' || b === holder.name || b === holder.clientId
}

export class JobStore {
  readonly #options: JobStoreOptions
  readonly #jobs = new Map<string, StoredJob>()

  constructor (options: Partial<JobStoreOptions> = {}) {
    this.#options = { ...JOB_STORE_DEFAULTS, ...options }
  }

  /** Adds a job, due at once; returns its id. */
  /** Jobs held. */
  get size (): number {
    return this.#jobs.size
  }

  create (spec: JobSpec): string {
    const id = randomUUID()
    const now = this.#options.now()
    this.#jobs.set(id, { id, spec, createdAt: now, nextRun: 1, dueAt: now, results: [], finished: 0, duplicates: 0 })
    return id
  }

  list (): JobSummary[] {
    return [...this.#jobs.values()].map((job) => this.#summary(job))
  }

  view (id: string): JobView | undefined {
    const job = this.#jobs.get(id)
    if (job === undefined) return undefined
    return {
      ...this.#summary(job),
      baseUrl: job.spec.connection.baseUrl,
      steps: job.spec.steps.map((s) => ({ name: s.name, kind: s.kind, path: s.path })),
      duplicates: job.duplicates,
      results: [...job.results]
    }
  }

  /** Leases up to `limit` due jobs that `holder` may run (of `frequency` / named `name` when given) and returns the offers. */
  lease (holder: LeaseHolder, filter: { readonly frequency?: JobFrequency, readonly name?: string }, limit: number): JobOfferFrame[] {
    const now = this.#options.now()
    const offers: JobOfferFrame[] = []
    for (const job of this.#jobs.values()) {
      if (offers.length >= limit) break
      if (job.dueAt === undefined || job.dueAt > now || job.current?.lease !== undefined || !selects(job.spec, holder)) continue
      if ((filter.frequency !== undefined && job.spec.frequency !== filter.frequency) || (filter.name !== undefined && job.spec.name !== filter.name)) continue
      job.current ??= { run: job.nextRun++, attempts: 0, partials: new Map() }
      const attempt = ++job.current.attempts
      job.current.lease = { holder, attempt, expiresAt: now + this.#options.leaseMs }
      offers.push({ type: 'job_offer', job: job.id, run: job.current.run, attempt, leaseMs: this.#options.leaseMs, spec: job.spec })
    }
    return offers
  }

  /** A bridge says it runs (or holds the result of) a run: it holds the lease now. False when the run is already finished. */
  claim (holder: LeaseHolder, jobId: string, run: number, attempt: number): boolean {
    const current = this.#jobs.get(jobId)?.current
    if (current?.run !== run) return false
    current.lease = { holder, attempt, expiresAt: this.#options.now() + this.#options.leaseMs }
    return true
  }

  /** A bridge gave up an attempt: drop its records; offer the run again at once when it held the lease. */
  release (jobId: string, run: number, attempt: number): void {
    const current = this.#jobs.get(jobId)?.current
    if (current?.run !== run) return
    current.partials.delete(attempt)
    if (current.lease?.attempt === attempt) current.lease = undefined
  }

  /**
   * Takes records in `seq` order; returns what the acknowledgement says, and `recorded` when
   * these records finished the run (so it was recorded now, once).
   */
  record (holder: LeaseHolder, frame: JobRecordsFrame): { upTo: number, done: boolean, recorded: boolean } {
    const job = this.#jobs.get(frame.job)
    const current = job?.current
    if (job === undefined || current?.run !== frame.run) return { upTo: 0, done: true, recorded: false }
    current.lease ??= { holder, attempt: frame.attempt, expiresAt: this.#options.now() + this.#options.leaseMs }
    const assembly = current.partials.get(frame.attempt) ?? new RunAssembly()
    current.partials.set(frame.attempt, assembly)
    for (const record of frame.records) {
      if (record.seq < assembly.nextSeq) job.duplicates++
      else if (!assembly.apply(record)) break
    }
    if (assembly.final === undefined) return { upTo: assembly.nextSeq, done: false, recorded: false }
    job.results.push(assembly.result(job.spec, { run: current.run, attempt: frame.attempt, attempts: current.attempts, bridge: holder.name }))
    if (job.results.length > this.#options.maxResults) job.results.shift()
    job.finished++
    job.current = undefined
    job.dueAt = nextDueAt(job.spec.frequency, job.createdAt, this.#options.now())
    return { upTo: assembly.nextSeq, done: true, recorded: true }
  }

  /** Renews the leases of live holders; ends the ones whose holder is gone and whose time ran out. */
  refresh (isAlive: (holderId: string) => boolean): void {
    const now = this.#options.now()
    for (const job of this.#jobs.values()) {
      const lease = job.current?.lease
      if (lease === undefined || job.current === undefined) continue
      if (isAlive(lease.holder.id)) lease.expiresAt = now + this.#options.leaseMs
      else if (lease.expiresAt <= now) job.current.lease = undefined
    }
  }

  /** Leases held by session `holderId`. */
  held (holderId: string): number {
    let n = 0
    for (const job of this.#jobs.values()) if (job.current?.lease?.holder.id === holderId) n++
    return n
  }

  #summary (job: StoredJob): JobSummary {
    const last = job.results[job.results.length - 1]
    const state: JobState = job.current?.lease !== undefined ? 'running' : last === undefined ? 'pending' : last.state
    return {
      id: job.id,
      name: job.spec.name,
      frequency: job.spec.frequency,
      bridge: job.spec.bridge ?? null,
      state,
      createdAt: new Date(job.createdAt).toISOString(),
      nextDueAt: job.dueAt === undefined ? null : new Date(job.dueAt).toISOString(),
      runs: job.finished,
      attempts: job.current?.attempts ?? last?.attempts ?? 0,
      lastRun: last === undefined ? null : { run: last.run, state: last.state, finishedAt: last.finishedAt, durationMs: last.durationMs }
    }
  }
}
