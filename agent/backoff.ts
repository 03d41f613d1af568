/**
 * Reconnect delays: exponential with full jitter drawn afresh on every retry, capped, and reset
 * only once the link has stayed up for `stableAfter` ms (a link that flaps does not get to
 * retry at the fast rate). A session the cloud ended to renew its token (`renewed`) does not
 * restart that clock: the link was healthy all along. A rejected login waits `rejectedDelay`
 * (+ jitter) instead, so a bridge with a revoked key never hammers the cloud.
 */

export interface BackoffOptions {
  /** First retry delay, in ms. @default 250 */
  readonly initial: number
  /** Cap, in ms. @default 30_000 */
  readonly max: number
  /** Growth per failed attempt. @default 1.6 */
  readonly factor: number
  /** A session up this long resets the delay, in ms. @default 60_000 */
  readonly stableAfter: number
  /** Delay after the cloud rejected the credentials, in ms (12 attempts a minute at most). @default 5_000 */
  readonly rejectedDelay: number
  /** Random source in [0, 1). @default Math.random */
  readonly random: () => number
}

export const BACKOFF_DEFAULTS: BackoffOptions = Object.freeze({
  initial: 250,
  max: 30_000,
  factor: 1.6,
  stableAfter: 60_000,
  rejectedDelay: 5_000,
  random: Math.random
})

export class Backoff {
  readonly #options: BackoffOptions
  #attempt = 0
  #upSince: number | undefined
  /** The last session ended by a token renewal: the next one continues its stability clock. */
  #renewing = false

  constructor (options: Partial<BackoffOptions> = {}) {
    this.#options = { ...BACKOFF_DEFAULTS, ...options }
  }

  /** Number of failures since the last stable session. */
  get attempt (): number {
    return this.#attempt
  }

  /** A session came up at `now`. */
  up (now: number): void {
    if (!this.#renewing || this.#upSince === undefined) this.#upSince = now
    this.#renewing = false
  }

  /**
   * The session ended because its token expired (close 4003) and the agent comes straight back
   * with a new one: the link counts as up since the start of the session before, so a long run
   * of renewals is as stable as one long session.
   */
  renewed (now: number): void {
    if (this.#upSince !== undefined && now - this.#upSince >= this.#options.stableAfter) this.#attempt = 0
    this.#renewing = true
  }

  /** The delay before the next attempt, in ms, given why the last one ended. */
  next (now: number, rejected = false): number {
    if (this.#upSince !== undefined && now - this.#upSince >= this.#options.stableAfter) this.#attempt = 0
    this.#upSince = undefined
    this.#renewing = false
    const { initial, max, factor, rejectedDelay, random } = this.#options
    if (rejected) {
      this.#attempt++
      return Math.max(1000, rejectedDelay * (1 + random()))
    }
    const ceiling = Math.min(max, initial * factor ** this.#attempt)
    this.#attempt++
    // Jitter over the upper half of the ceiling: a fleet never retries in lock step, and a single
    // bridge neither spins through its retries nor ends up waiting much longer than the ceiling
    // (which keeps "back within about 2 s of the cloud" for outages of up to 2 s).
    return Math.round(ceiling * (0.5 + 0.5 * random()))
  }
}
