/**
 * The bridge's side of the sync job protocol. It lives across sessions: offers and acks come
 * in through `receive`, frames go out through the session given to `attach`. Offered runs
 * start (at most `maxConcurrent` at once, the rest wait in order), their records go to the
 * outbox and from there to the cloud within a window of unacknowledged bytes. After every
 * reconnect it claims its runs again and re-sends from the first unacknowledged record. On
 * start it finds what the last process left: finished runs are delivered, never run again;
 * runs cut short by a stop or a crash are given back to the cloud (`abandoned`).
 *
 * Events: `finished` (FinishedRun) when a run started here finishes; `delivered`
 * (RunInfo) when the cloud has a whole run; `runner-ended` when a run stops executing (finished
 * or not); `settled` when nothing is running, queued or waiting for an acknowledgement.
 */
import { EventEmitter, once } from 'node:events'
import type { PeerLimits } from '../../protocol/frames.js'
import type { AgentJobFrame, CloudJobFrame, JobAckFrame, JobOfferFrame } from '../../protocol/job-frames.js'
import type { JobFrequency, JobSpec } from '../../protocol/job-spec.js'
import type { Logger } from '../logger.js'
import { Deliveries, Delivery } from './delivery.js'
import type { JobFetchContext } from './job-fetch.js'
import { runJob, type RunSummary } from './job-runner.js'
import type { Outbox } from './outbox.js'

/** What the wiring (Bridge, run-once) drives. */
export interface JobLink {
  /** A job frame from the cloud. Never throws. */
  receive (frame: CloudJobFrame): void
  /** A session is up: `send` queues a frame on it. */
  attach (send: (frame: AgentJobFrame) => boolean, peer: PeerLimits): void
  /** The session is gone. */
  detach (): void
  /** The bridge stops: abort running jobs (they are given back on the next start); resolves once the outbox is closed. */
  close (): Promise<void>
}

export interface JobClientOptions {
  readonly outbox: Outbox
  readonly fetch: JobFetchContext
  readonly log: Logger
  readonly bridge: string
  /** Jobs running at once. @default 2 */
  readonly maxConcurrent?: number
  /** Record bytes sent and not yet acknowledged, all runs together. @default 524_288 */
  readonly windowBytes?: number
  /** Record bytes per JOB_RECORDS frame, at most a quarter of the cloud's maxFrameBytes. @default 65_536 */
  readonly frameBytes?: number
}

export interface RunInfo { readonly job: string, readonly run: number, readonly name: string }
export interface FinishedRun extends RunInfo { readonly summary: RunSummary }

type Key = string

function keyOf (job: string, run: number): Key {
  return `${run}@${job}`
}

export class JobClient extends EventEmitter implements JobLink {
  readonly #o: Required<JobClientOptions>
  readonly #queue: JobOfferFrame[] = []
  readonly #running = new Map<Key, AbortController>()
  readonly #deliveries: Deliveries
  readonly #names = new Map<Key, string>()
  readonly #abandoned: Array<{ job: string, run: number, attempt: number }> = []
  readonly #polls = new Map<number, (offered: number | undefined) => void>()
  #send: ((frame: AgentJobFrame) => boolean) | undefined
  #nextPoll = 1
  #closed = false

  /** Creates the client over what the outbox holds (interrupted runs are dropped and reported at the next attach). */
  static async create (options: JobClientOptions): Promise<JobClient> {
    const client = new JobClient(options)
    for (const entry of options.outbox.runs()) {
      if (entry.state === 'running') {
        await options.outbox.abandon(entry.job, entry.run)
        client.#abandoned.push({ job: entry.job, run: entry.run, attempt: entry.attempt })
        options.log.warn({ bridge: options.bridge, job: entry.job, run: entry.run }, 'a job was interrupted by a stop; giving it back to the cloud')
      } else {
        client.#track(entry.job, entry.run, entry.attempt, entry.spec, { nextSeq: entry.nextSeq, ackedUpTo: entry.ackedUpTo, finished: true })
      }
    }
    return client
  }

  private constructor (options: JobClientOptions) {
    super()
    this.#o = { maxConcurrent: 2, windowBytes: 512 * 1024, frameBytes: 64 * 1024, ...options }
    this.#deliveries = new Deliveries(this.#o.windowBytes, this.#o.frameBytes)
  }

  /** Runs executing or queued. */
  get executing (): number {
    return this.#running.size + this.#queue.length
  }

  /** Runs executing, queued, or waiting for an acknowledgement. */
  get pending (): number {
    return new Set([...this.#running.keys(), ...this.#deliveries.keys(), ...this.#queue.map((o) => keyOf(o.job, o.run))]).size
  }

  receive (frame: CloudJobFrame): void {
    try {
      if (frame.type === 'job_offer') this.#onOffer(frame)
      else if (frame.type === 'job_ack') this.#onAck(frame)
      else this.#polls.get(frame.poll)?.(frame.offered)
    } catch (err) {
      this.#o.log.error({ bridge: this.#o.bridge, err: (err as Error).message }, 'job frame handling failed')
    }
  }

  attach (send: (frame: AgentJobFrame) => boolean, peer: PeerLimits): void {
    this.#send = send
    this.#deliveries.attach(send, peer.maxFrameBytes)
    for (const a of this.#abandoned.splice(0)) send({ type: 'job_state', ...a, state: 'abandoned', message: 'the bridge stopped while running it' })
    for (const d of this.#deliveries.values()) send({ type: 'job_state', job: d.job, run: d.run, attempt: d.attempt, state: 'running', message: '' })
    this.#deliveries.pump()
  }

  detach (): void {
    this.#send = undefined
    this.#deliveries.detach()
    for (const resolve of this.#polls.values()) resolve(undefined)
    this.#polls.clear()
  }

  async close (): Promise<void> {
    this.#closed = true
    this.detach()
    this.#deliveries.close()
    this.#queue.length = 0
    for (const abort of this.#running.values()) abort.abort()
    while (this.#running.size > 0) await once(this, 'runner-ended')
    await this.#o.outbox.close()
  }

  /** Cron mode: asks for the due jobs of `frequency`; resolves with the number offered, undefined when the session went away. */
  poll (frequency: JobFrequency, name?: string): Promise<number | undefined> {
    const poll = this.#nextPoll++
    return new Promise((resolve) => {
      const sent = this.#send?.({ type: 'job_poll', poll, frequency, ...(name === undefined ? {} : { name }) }) ?? false
      if (!sent) return resolve(undefined)
      this.#polls.set(poll, (offered) => { this.#polls.delete(poll); resolve(offered) })
    })
  }

  #onOffer (offer: JobOfferFrame): void {
    const key = keyOf(offer.job, offer.run)
    const log = { bridge: this.#o.bridge, job: offer.job, run: offer.run, attempt: offer.attempt }
    if (this.#closed || this.#o.outbox.isDone(offer.job, offer.run)) return
    const held = this.#deliveries.get(key)
    if (held !== undefined) {
      // Running here, or finished and not yet acknowledged: never run twice; claim it again.
      this.#o.log.debug(log, 'offer of a run this bridge already holds')
      this.#send?.({ type: 'job_state', job: offer.job, run: offer.run, attempt: held.attempt, state: 'running', message: '' })
      return this.#deliveries.pump()
    }
    if (this.#running.has(key) || this.#queue.some((o) => keyOf(o.job, o.run) === key)) return
    this.#names.set(key, offer.spec.name)
    if (this.#running.size < this.#o.maxConcurrent) this.#start(offer)
    else this.#queue.push(offer)
  }

  #start (offer: JobOfferFrame): void {
    const { job, run, attempt, spec } = offer
    const key = keyOf(job, run)
    const abort = new AbortController()
    this.#running.set(key, abort)
    const log = { bridge: this.#o.bridge, job, run, attempt }
    const execute = async (): Promise<void> => {
      const entry = await this.#o.outbox.begin(job, run, attempt, spec, Date.now())
      const delivery = this.#track(job, run, attempt, spec, { nextSeq: entry.nextSeq, ackedUpTo: 0, finished: false })
      this.#send?.({ type: 'job_state', job, run, attempt, state: 'running', message: '' })
      this.#o.log.info({ ...log, name: spec.name }, 'job started')
      const summary = await runJob(spec, (records) => delivery.append(records, () => this.#deliveries.schedulePump()), this.#o.fetch, abort.signal)
      this.#o.log.info({ ...log, name: spec.name, state: summary.state, pages: summary.pages, durationMs: summary.durationMs }, 'job finished')
      const finished: FinishedRun = { job, run, name: spec.name, summary }
      this.emit('finished', finished)
    }
    execute().catch(async (err: unknown) => {
      if (abort.signal.aborted || this.#deliveries.get(key)?.finished === true) return
      // The outbox failed under it: give the run back rather than hold its lease unfinished.
      this.#o.log.error({ ...log, err: (err as Error).message }, 'job could not run to its end; giving it back')
      this.#deliveries.delete(key)
      this.#send?.({ type: 'job_state', job, run, attempt, state: 'abandoned', message: 'the bridge could not run it to its end' })
      await this.#o.outbox.abandon(job, run).catch(() => {})
    }).finally(() => {
      this.#running.delete(key)
      this.emit('runner-ended')
      const next = this.#closed ? undefined : this.#queue.shift()
      if (next !== undefined) this.#start(next)
      this.#checkSettled()
    })
  }

  #track (job: string, run: number, attempt: number, spec: JobSpec, state: { nextSeq: number, ackedUpTo: number, finished: boolean }): Delivery {
    const delivery = new Delivery(this.#o.outbox, job, run, attempt, state)
    this.#deliveries.set(keyOf(job, run), delivery)
    this.#names.set(keyOf(job, run), spec.name)
    return delivery
  }

  #onAck (ack: JobAckFrame): void {
    const key = keyOf(ack.job, ack.run)
    const delivery = this.#deliveries.get(key)
    if (delivery === undefined) return
    if (ack.attempt !== delivery.attempt && !ack.done) return
    this.#deliveries.acknowledge(delivery, ack.upTo)
    if (ack.done || delivery.complete) {
      this.#deliveries.delete(key)
      // The cloud has the run (maybe from another attempt): stop running it here, forget it.
      this.#running.get(key)?.abort()
      void this.#forget(ack.job, ack.run)
    } else {
      this.#o.outbox.acknowledge(ack.job, ack.run, delivery.acked).catch((err: unknown) => {
        this.#o.log.warn({ bridge: this.#o.bridge, job: ack.job, run: ack.run, err: (err as Error).message }, 'outbox trim failed')
      })
    }
    this.#deliveries.pump()
  }

  async #forget (job: string, run: number): Promise<void> {
    const key = keyOf(job, run)
    while (this.#running.has(key)) await new Promise((resolve) => this.once('runner-ended', resolve))
    try {
      await this.#o.outbox.complete(job, run)
    } catch (err) {
      this.#o.log.warn({ bridge: this.#o.bridge, job, run, err: (err as Error).message }, 'outbox cleanup failed')
    }
    this.#o.log.info({ bridge: this.#o.bridge, job, run }, 'job delivered')
    const delivered: RunInfo = { job, run, name: this.#names.get(key) ?? '' }
    this.emit('delivered', delivered)
    this.#names.delete(key)
    this.#checkSettled()
  }

  #checkSettled (): void {
    if (this.pending === 0) this.emit('settled')
  }
}
