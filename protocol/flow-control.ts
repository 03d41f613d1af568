/**
 * Per-stream credit, the protocol's flow control (PROTOCOL.md "Flow control"). Pure state:
 * the owner sends the frames these classes ask for.
 *
 * Sender side: every stream starts with the receiver's `initialWindow` of credit; DATA payload
 * bytes spend it; WINDOW frames add to it. Receiver side: bytes arrive into the window and are
 * returned as credit once the application has consumed them, in batches of at least half the
 * window, so a fast stream costs one WINDOW frame per half window rather than one per chunk.
 */

/** Credit this side may still spend sending DATA on one stream. */
export class SendWindow {
  #credit: number

  constructor (initial: number) {
    this.#credit = initial
  }

  get credit (): number {
    return this.#credit
  }

  /** Spends up to `wanted` bytes; returns how many may be sent now. */
  take (wanted: number): number {
    const n = Math.min(wanted, this.#credit)
    this.#credit -= n
    return n
  }

  /** Applies a WINDOW increment; false when it would overflow 2^31-1 (a protocol error). */
  grant (increment: number): boolean {
    if (this.#credit + increment > 0x7fffffff) return false
    this.#credit += increment
    return true
  }
}

/** What this side has granted the peer on one stream, and what it should grant back. */
export class ReceiveWindow {
  readonly #size: number
  #available: number
  #consumedUnacked = 0

  constructor (size: number) {
    this.#size = size
    this.#available = size
  }

  /** Bytes received but not yet consumed, plus credit the peer still holds: at most `size`. */
  get available (): number {
    return this.#available
  }

  /** Accounts for a received DATA payload; false when the peer overran its credit. */
  receive (bytes: number): boolean {
    if (bytes > this.#available) return false
    this.#available -= bytes
    return true
  }

  /**
   * Marks `bytes` as consumed by the application. Returns the WINDOW increment to send now
   * (0 while the unacknowledged amount is below half the window).
   */
  consume (bytes: number): number {
    this.#consumedUnacked += bytes
    if (this.#consumedUnacked < this.#size / 2) return 0
    const increment = this.#consumedUnacked
    this.#consumedUnacked = 0
    this.#available += increment
    return increment
  }
}
