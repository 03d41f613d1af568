/**
 * Batches the frames produced in one event-loop turn into one WebSocket message: fewer
 * messages, fewer syscalls, less masking overhead. A batch is flushed when the turn ends
 * (setImmediate), or at once when it would exceed the peer's message limit.
 */
import { encodeFrame } from './codec.js'
import type { Frame } from './frames.js'

export type SendMessage = (message: Buffer) => void

export class FrameWriter {
  readonly #send: SendMessage
  readonly #maxMessageBytes: number
  #parts: Buffer[] = []
  #bytes = 0
  #scheduled: NodeJS.Immediate | undefined

  /** `send` writes one message to the socket; `maxMessageBytes` is the peer's limit. */
  constructor (send: SendMessage, maxMessageBytes: number) {
    this.#send = send
    this.#maxMessageBytes = maxMessageBytes
  }

  /** Queues a frame for the current batch. */
  write (frame: Frame): void {
    const parts = encodeFrame(frame)
    let size = 0
    for (const p of parts) size += p.byteLength
    if (this.#bytes > 0 && this.#bytes + size > this.#maxMessageBytes) this.flush()
    for (const p of parts) this.#parts.push(p)
    this.#bytes += size
    if (this.#scheduled === undefined) this.#scheduled = setImmediate(flushWriter, this)
  }

  /** Sends the pending batch now. */
  flush (): void {
    if (this.#scheduled !== undefined) {
      clearImmediate(this.#scheduled)
      this.#scheduled = undefined
    }
    if (this.#bytes === 0) return
    const parts = this.#parts
    const message = parts.length === 1 ? parts[0] : Buffer.concat(parts, this.#bytes)
    this.#parts = []
    this.#bytes = 0
    this.#send(message)
  }

  /** Drops anything pending (the socket is gone; old frames must never reach a new session). */
  discard (): void {
    if (this.#scheduled !== undefined) clearImmediate(this.#scheduled)
    this.#scheduled = undefined
    this.#parts = []
    this.#bytes = 0
  }
}

function flushWriter (writer: FrameWriter): void {
  writer.flush()
}
