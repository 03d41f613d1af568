/**
 * The last calls the cloud carried, for the admin page and `GET /api/calls`: a fixed-size ring
 * of plain objects. Recording is one object store per call (no JSON, no logging, no allocation
 * beyond the record), so it can sit on the hot path of every call. Only what identifies a call
 * is kept: never its headers or bodies, and never the `user:password@` part of its URL.
 */

/** Which API carried the call. */
export type CallApi = 'call' | 'relay'

/** One finished call, as recorded. */
export interface CallRecord {
  /** When the call arrived, in ms since the epoch. */
  readonly startedAt: number
  readonly api: CallApi
  /** Name of the bridge that carried it; null when none was picked. */
  readonly bridge: string | null
  /** Session id of that bridge (tells apart bridges sharing a name); null when none was picked. */
  readonly session: string | null
  /** Bridges tried (more than 1 when a draining bridge refused it). */
  readonly attempts: number
  readonly method: string
  /** The target URL ('' when the request was too malformed to name one). */
  readonly url: string
  /** The target's status; null when no response head came back. */
  readonly status: number | null
  /** The outcome code when the call failed (CONTRACT error codes, or CANCELLED); null on success. */
  readonly code: string | null
  /** From arrival to completion, in ms. */
  readonly durationMs: number
  /** Request body bytes sent toward the target. */
  readonly requestBytes: number
  /** Response body bytes received from the target. */
  readonly responseBytes: number
}

/** A {@link CallRecord} as `GET /api/calls` shows it. */
export interface CallView extends Omit<CallRecord, 'startedAt'> {
  /** ISO 8601 arrival time. */
  readonly time: string
}

/** How many calls are kept. @default 200 */
export const DEFAULT_RECENT_CALLS = 200

export class RecentCalls {
  readonly #ring: Array<CallRecord | undefined>
  #next = 0
  #count = 0

  /** Keeps the last `capacity` calls. @default 200 */
  constructor (capacity = DEFAULT_RECENT_CALLS) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new RangeError('capacity must be a positive integer')
    this.#ring = new Array<CallRecord | undefined>(capacity)
  }

  get capacity (): number {
    return this.#ring.length
  }

  /** Calls recorded so far, up to the capacity. */
  get size (): number {
    return this.#count
  }

  /** Stores a finished call, dropping the oldest when full. */
  record (call: CallRecord): void {
    this.#ring[this.#next] = call
    this.#next = (this.#next + 1) % this.#ring.length
    if (this.#count < this.#ring.length) this.#count++
  }

  /** The recorded calls, newest first, at most `limit` of them. */
  list (limit = this.#ring.length): CallView[] {
    const out: CallView[] = []
    const n = Math.min(limit, this.#count)
    for (let i = 1; i <= n; i++) {
      const record = this.#ring[(this.#next - i + this.#ring.length) % this.#ring.length] as CallRecord
      const { startedAt, ...rest } = record
      out.push({ time: new Date(startedAt).toISOString(), ...rest })
    }
    return out
  }
}

/** `url` without its `user:password@` part; other URLs are returned as they are, unparsed. */
export function displayUrl (url: string): string {
  if (!url.includes('@')) return url
  try {
    const parsed = new URL(url)
    if (parsed.username === '' && parsed.password === '') return url
    parsed.username = ''
    parsed.password = ''
    return parsed.href
  } catch {
    return url
  }
}

/** What a trace reads of the routed call: the bridge carrying it and how many were tried. */
export interface TracedCall {
  readonly session: { readonly name: string, readonly id: string }
  readonly attempts: number
}

/**
 * One call from arrival to completion: the API handler fills in what it learns and calls
 * `finish` once (later calls are ignored), which stores the record.
 */
export class CallTrace {
  readonly #recent: RecentCalls
  readonly #api: CallApi
  readonly #startedAt = Date.now()
  readonly #t0 = performance.now()
  #finished = false
  method = ''
  /** The target URL; shown without its `user:password@` part. */
  url = ''
  call: TracedCall | undefined
  /** The target's status once its response head came back. */
  status: number | null = null
  requestBytes = 0
  responseBytes = 0

  constructor (recent: RecentCalls, api: CallApi) {
    this.#recent = recent
    this.#api = api
  }

  get finished (): boolean {
    return this.#finished
  }

  /** Records the outcome: the target's status (null without a head) and the failure code (null on success). */
  finish (status: number | null, code: string | null): void {
    if (this.#finished) return
    this.#finished = true
    this.#recent.record({
      startedAt: this.#startedAt,
      api: this.#api,
      bridge: this.call?.session.name ?? null,
      session: this.call?.session.id ?? null,
      attempts: this.call?.attempts ?? 0,
      method: this.method,
      url: displayUrl(this.url),
      status,
      code,
      durationMs: Math.round((performance.now() - this.#t0) * 100) / 100,
      requestBytes: this.requestBytes,
      responseBytes: this.responseBytes
    })
  }
}
