/**
 * Batches the frames produced in one event-loop turn into one WebSocket message: fewer
 * messages, fewer syscalls, less masking overhead. A batch is flushed when the turn ends
 * (setImmediate), or at once when it would exceed the peer's message limit. An empty DATA
 * frame that only ends a stream whose DATA or RESPONSE frame is the last one of the batch
 * becomes the END flag of that frame: a small response is then two frames (RESPONSE, DATA with
 * END), not three, and an empty one a single RESPONSE with END.
 */
import { encodeFrame, setEndFlag } from './codec.js'
import type { Frame } from './frames.js'

export type SendMessage = (message: Buffer) => void

export class FrameWriter {
  readonly #send: SendMessage
  readonly #maxMessageBytes: number
  #parts: Buffer[] = []
  #bytes = 0
  #scheduled: NodeJS.Immediate | undefined
  /** Stream and encoded head of the batch's last frame while it is a DATA or RESPONSE frame without END. */
  #openStream = -1
  #openHead: Buffer | undefined

  /** `send` writes one message to the socket; `maxMessageBytes` is the peer's limit. */
  constructor (send: SendMessage, maxMessageBytes: number) {
    this.#send = send
    this.#maxMessageBytes = maxMessageBytes
  }

  /** Queues a frame for the current batch. */
  write (frame: Frame): void {
    if (frame.type === 'data' && frame.end && frame.chunk.byteLength === 0 && frame.stream === this.#openStream && this.#openHead !== undefined) {
      setEndFlag(this.#openHead)
      this.#openHead = undefined
      this.#openStream = -1
      return
    }
    const parts = encodeFrame(frame)
    let size = 0
    for (const p of parts) size += p.byteLength
    if (this.#bytes > 0 && this.#bytes + size > this.#maxMessageBytes) this.flush()
    for (const p of parts) this.#parts.push(p)
    this.#bytes += size
    if ((frame.type === 'data' || frame.type === 'response') && !frame.end) {
      this.#openStream = frame.stream
      this.#openHead = parts[0]
    } else {
      this.#openStream = -1
      this.#openHead = undefined
    }
    if (this.#scheduled === undefined) this.#scheduled = setImmediate(flushWriter, this)
  }

  /** Sends the pending batch now. */
  flush (): void {
    if (this.#scheduled !== undefined) {
      clearImmediate(this.#scheduled)
      this.#scheduled = undefined
    }
    if (this.#bytes === 0) return
    this.#openStream = -1
    this.#openHead = undefined
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
    this.#openStream = -1
    this.#openHead = undefined
  }
}

function flushWriter (writer: FrameWriter): void {
  writer.flush()
}
