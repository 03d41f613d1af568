/**
 * Sends one stream's body as DATA frames within the peer's credit. The source (an HTTP request
 * being read, or a target's response) writes chunks; `write` returns false when the credit is
 * spent, and the source pauses until `onDrain` is called. So a slow reader on one stream
 * pauses that stream only, and at most one window of its bytes is ever in flight.
 */
import type { FrameWriter } from './frame-writer.js'
import { SendWindow } from './flow-control.js'

export class StreamSender {
  readonly #stream: number
  readonly #writer: FrameWriter
  readonly #window: SendWindow
  readonly #maxFrameBytes: number
  readonly #onDrain: () => void
  #pending: Uint8Array[] = []
  #pendingBytes = 0
  #ending = false
  #ended = false

  /** `onDrain` runs when queued bytes have all been sent (and the END flag, if ending). */
  constructor (stream: number, writer: FrameWriter, initialWindow: number, maxFrameBytes: number, onDrain: () => void) {
    this.#stream = stream
    this.#writer = writer
    this.#window = new SendWindow(initialWindow)
    this.#maxFrameBytes = maxFrameBytes
    this.#onDrain = onDrain
  }

  /** Bytes accepted but not yet sent for lack of credit. */
  get pendingBytes (): number {
    return this.#pendingBytes
  }

  get ended (): boolean {
    return this.#ended
  }

  /** Queues a chunk; false when the caller should pause until `onDrain`. */
  write (chunk: Uint8Array): boolean {
    if (this.#ending || chunk.byteLength === 0) return this.#pendingBytes === 0
    if (this.#pendingBytes === 0) this.#sendFrom(chunk)
    else this.#queue(chunk)
    return this.#pendingBytes === 0
  }

  /** Ends the body; the END flag goes out after any pending bytes. */
  end (): void {
    if (this.#ending) return
    this.#ending = true
    if (this.#pendingBytes === 0) this.#finish()
  }

  /** Applies a WINDOW increment; false when it overflows (a protocol error). */
  grant (increment: number): boolean {
    if (!this.#window.grant(increment)) return false
    if (this.#pendingBytes === 0) return true
    const queued = this.#pending
    this.#pending = []
    this.#pendingBytes = 0
    for (let i = 0; i < queued.length; i++) {
      if (this.#pendingBytes > 0) this.#queue(queued[i])
      else this.#sendFrom(queued[i])
    }
    if (this.#pendingBytes === 0) {
      if (this.#ending) this.#finish()
      this.#onDrain()
    }
    return true
  }

  #sendFrom (chunk: Uint8Array): void {
    let offset = 0
    while (offset < chunk.byteLength) {
      const n = this.#window.take(Math.min(chunk.byteLength - offset, this.#maxFrameBytes))
      if (n === 0) break
      this.#writer.write({ type: 'data', stream: this.#stream, end: false, chunk: chunk.subarray(offset, offset + n) })
      offset += n
    }
    if (offset < chunk.byteLength) this.#queue(offset === 0 ? chunk : chunk.subarray(offset))
  }

  #queue (chunk: Uint8Array): void {
    this.#pending.push(chunk)
    this.#pendingBytes += chunk.byteLength
  }

  #finish (): void {
    if (this.#ended) return
    this.#ended = true
    this.#writer.write({ type: 'data', stream: this.#stream, end: true, chunk: EMPTY })
  }
}

const EMPTY = new Uint8Array(0)
