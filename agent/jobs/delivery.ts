/**
 * The delivery state of one run in the outbox: which records are committed (may be sent),
 * sent, and acknowledged. Sending goes from the first unacknowledged record again after every
 * reconnect; the cloud drops what it already has. Writes to the outbox are pipelined: the
 * runner goes on while earlier records commit, up to MAX_PENDING_COMMITS, and waits for every
 * commit before a run counts as finished.
 */
import { MAX_RECORDS_PER_FRAME, type JobRecordsFrame } from '../../protocol/job-frames.js'
import { recordBytes, type Outbox, type RecordInput } from './outbox.js'

/** Appends not yet committed before the runner waits. */
const MAX_PENDING_COMMITS = 32

export class Delivery {
  readonly job: string
  readonly run: number
  readonly attempt: number
  /** Records below this `seq` are durable and may be sent. */
  committed: number
  /** The next record to send. */
  sent: number
  /** Records below this `seq` are recorded by the cloud. */
  acked: number
  /** The FINAL record is committed. */
  finished: boolean
  /** Frames sent and not yet acknowledged: the `seq` they reach and their size. */
  readonly inflight: Array<{ readonly upTo: number, readonly bytes: number }> = []
  readonly #outbox: Outbox
  readonly #commits: Array<Promise<void>> = []
  #failure: unknown

  constructor (outbox: Outbox, job: string, run: number, attempt: number, state: { nextSeq: number, ackedUpTo: number, finished: boolean }) {
    this.#outbox = outbox
    this.job = job
    this.run = run
    this.attempt = attempt
    this.committed = state.nextSeq
    this.sent = state.ackedUpTo
    this.acked = state.ackedUpTo
    this.finished = state.finished
  }

  /** Writes `records`; `onCommitted` runs once they are durable. Waits when too many writes are pending, and for a FINAL. */
  async append (records: readonly RecordInput[], onCommitted: () => void): Promise<void> {
    if (this.#failure !== undefined) throw this.#failure
    const final = records.some((r) => r.kind === 'final')
    const commit = this.#outbox.append(this.job, this.run, records).then((next) => {
      this.committed = Math.max(this.committed, next)
      if (final) this.finished = true
      onCommitted()
    }, (err: unknown) => { this.#failure ??= err })
    this.#commits.push(commit)
    void commit.finally(() => this.#commits.splice(this.#commits.indexOf(commit), 1))
    if (final) await Promise.all(this.#commits)
    else if (this.#commits.length > MAX_PENDING_COMMITS) await this.#commits[0]
    if (this.#failure !== undefined) throw this.#failure
  }

  /** The next frame to send (about `maxBytes` of records), or undefined when all committed records are sent. */
  nextFrame (maxBytes: number, maxRecords: number): { frame: JobRecordsFrame, bytes: number } | undefined {
    if (this.sent >= this.committed) return undefined
    const records = this.#outbox.read(this.job, this.run, this.sent, maxBytes, maxRecords).filter((r) => r.seq < this.committed)
    if (records.length === 0) return undefined
    const bytes = records.reduce((n, r) => n + recordBytes(r), 0)
    this.sent = records[records.length - 1].seq + 1
    this.inflight.push({ upTo: this.sent, bytes })
    return { frame: { type: 'job_records', job: this.job, run: this.run, attempt: this.attempt, records }, bytes }
  }

  /** An acknowledgement up to `upTo`: returns the bytes of the frames it covers. */
  acknowledge (upTo: number): number {
    this.acked = Math.max(this.acked, upTo)
    let released = 0
    while (this.inflight.length > 0 && this.inflight[0].upTo <= this.acked) released += this.inflight.shift()?.bytes ?? 0
    return released
  }

  /** The session is gone: everything unacknowledged is sent again on the next one. Returns the bytes released. */
  rewind (): number {
    const released = this.inflight.reduce((n, f) => n + f.bytes, 0)
    this.inflight.length = 0
    this.sent = this.acked
    return released
  }

  /** Every record, FINAL included, is acknowledged. */
  get complete (): boolean {
    return this.finished && this.acked >= this.committed
  }
}

/** How long freshly committed records wait for more before they are sent, in ms. */
const LINGER = 20

/**
 * Every run being delivered, keyed `run@job`, and the window they share: frames of records
 * go out oldest run first while the bytes sent and not acknowledged stay under `windowBytes`.
 */
export class Deliveries {
  readonly #runs = new Map<string, Delivery>()
  readonly #windowBytes: number
  readonly #maxFrameBytes: number
  #frameBytes: number
  #windowUsed = 0
  #send: ((frame: JobRecordsFrame) => boolean) | undefined
  #timer: NodeJS.Timeout | undefined

  /** @param windowBytes unacknowledged bytes, all runs. @param frameBytes record bytes per frame, at most. */
  constructor (windowBytes: number, frameBytes: number) {
    this.#windowBytes = windowBytes
    this.#maxFrameBytes = frameBytes
    this.#frameBytes = frameBytes
  }

  get (key: string): Delivery | undefined {
    return this.#runs.get(key)
  }

  set (key: string, delivery: Delivery): void {
    this.#runs.set(key, delivery)
  }

  /** Forgets a run, releasing its share of the window. */
  delete (key: string): void {
    const delivery = this.#runs.get(key)
    if (delivery === undefined) return
    this.#windowUsed -= delivery.rewind()
    this.#runs.delete(key)
  }

  keys (): IterableIterator<string> {
    return this.#runs.keys()
  }

  values (): IterableIterator<Delivery> {
    return this.#runs.values()
  }

  /** A session is up; frames are at most a quarter of its `maxFrameBytes`. */
  attach (send: (frame: JobRecordsFrame) => boolean, peerMaxFrameBytes: number): void {
    this.#send = send
    this.#frameBytes = Math.max(1024, Math.min(this.#maxFrameBytes, Math.floor(peerMaxFrameBytes / 4)))
  }

  /** The session is gone: everything unacknowledged goes again on the next one. */
  detach (): void {
    this.#send = undefined
    for (const delivery of this.#runs.values()) delivery.rewind()
    this.#windowUsed = 0
  }

  /** An acknowledgement for `delivery`. */
  acknowledge (delivery: Delivery, upTo: number): void {
    this.#windowUsed -= delivery.acknowledge(upTo)
  }

  /** Pumps after LINGER ms, so records committed meanwhile share a frame instead of one frame per page. */
  schedulePump (): void {
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined
      this.pump()
    }, LINGER)
  }

  /** Sends what is committed and unsent, oldest run first, within the window. */
  pump (): void {
    const send = this.#send
    if (send === undefined) return
    let progress = true
    while (progress && this.#windowUsed < this.#windowBytes) {
      progress = false
      for (const delivery of this.#runs.values()) {
        if (this.#windowUsed >= this.#windowBytes) break
        const next = delivery.nextFrame(this.#frameBytes, MAX_RECORDS_PER_FRAME)
        if (next === undefined) continue
        if (!send(next.frame)) return
        this.#windowUsed += next.bytes
        progress = true
      }
    }
  }

  close (): void {
    clearTimeout(this.#timer)
    this.detach()
  }
}
