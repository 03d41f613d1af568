/**
 * Hands due sync jobs to bridges and takes their answers. Every `tickMs` it renews the leases
 * of connected holders, lets the others run out, and offers due jobs to open bridges that take
 * offers (HELLO capability `jobs`), at most `maxLeasesPerBridge` each, least loaded first.
 * Job frames from any session (daemon or `run-once`) come in through `onFrame`.
 */
import type { Logger } from '../agent/logger.js'
import { JOBS_CAPABILITY, type AgentJobFrame } from '../protocol/job-frames.js'
import type { BridgeSession } from './bridge-session.js'
import type { JobStore } from './job-store.js'
import type { BridgeRegistry } from './registry.js'

export interface JobDispatchOptions {
  /** How often leases are renewed and due jobs offered, in ms. @default 250 */
  readonly tickMs: number
  /** Runs leased to one bridge at once. @default 4 */
  readonly maxLeasesPerBridge: number
  /** Offers answering one poll, at most. @default 100 */
  readonly maxPollOffers: number
}

export const JOB_DISPATCH_DEFAULTS: JobDispatchOptions = Object.freeze({ tickMs: 250, maxLeasesPerBridge: 4, maxPollOffers: 100 })

export class JobDispatch {
  readonly #store: JobStore
  readonly #registry: BridgeRegistry
  readonly #log: Logger
  readonly #options: JobDispatchOptions
  #timer: NodeJS.Timeout | undefined

  constructor (store: JobStore, registry: BridgeRegistry, log: Logger, options: Partial<JobDispatchOptions> = {}) {
    this.#store = store
    this.#registry = registry
    this.#log = log
    this.#options = { ...JOB_DISPATCH_DEFAULTS, ...options }
  }

  start (): void {
    this.#timer ??= setInterval(() => this.tick(), this.#options.tickMs)
    this.#timer.unref()
  }

  stop (): void {
    clearInterval(this.#timer)
    this.#timer = undefined
  }

  /** Renews or ends leases, then offers due jobs. */
  tick (): void {
    const sessions = this.#registry.sessions()
    const alive = new Set<string>(sessions.filter((s) => s.state !== 'closed').map((s) => s.id))
    this.#store.refresh((id) => alive.has(id))
    const takers = sessions
      .filter((s) => s.state === 'open' && s.capabilities.includes(JOBS_CAPABILITY))
      .map((s) => ({ s, held: this.#store.held(s.id) }))
      .sort((a, b) => a.held - b.held)
    for (const { s, held } of takers) {
      const room = this.#options.maxLeasesPerBridge - held
      if (room <= 0) continue
      for (const offer of this.#store.lease(s, {}, room)) {
        this.#log.info({ bridge: s.name, session: s.id, job: offer.job, run: offer.run, attempt: offer.attempt }, 'job offered')
        s.sendJob(offer)
      }
    }
  }

  /** A job frame from a bridge. */
  onFrame (session: BridgeSession, frame: AgentJobFrame): void {
    switch (frame.type) {
      case 'job_state':
        if (frame.state === 'abandoned') {
          this.#log.info({ bridge: session.name, job: frame.job, run: frame.run, attempt: frame.attempt }, 'job given back')
          this.#store.release(frame.job, frame.run, frame.attempt)
        } else if (!this.#store.claim(session, frame.job, frame.run, frame.attempt)) {
          session.sendJob({ type: 'job_ack', job: frame.job, run: frame.run, attempt: frame.attempt, upTo: 0, done: true })
        }
        return
      case 'job_records': {
        const { upTo, done, recorded } = this.#store.record(session, frame)
        session.sendJob({ type: 'job_ack', job: frame.job, run: frame.run, attempt: frame.attempt, upTo, done })
        if (recorded) this.#log.info({ bridge: session.name, job: frame.job, run: frame.run, attempt: frame.attempt }, 'job result recorded')
        return
      }
      case 'job_poll': {
        const offers = this.#store.lease(session, { frequency: frame.frequency, name: frame.name }, this.#options.maxPollOffers)
        for (const offer of offers) session.sendJob(offer)
        session.sendJob({ type: 'job_poll_end', poll: frame.poll, offered: offers.length })
      }
    }
  }
}
