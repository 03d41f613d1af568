/**
 * Batches the frames produced in one event-loop turn into one WebSocket message: fewer
 * messages, fewer syscalls, less masking overhead. A batch is flushed when the turn ends
 * (setImmediate), or at once when it would exceed the peer's message limit.
 *
 * A DATA frame for the stream whose DATA or RESPONSE frame is the last one of the batch joins
 * that frame instead of following it: an empty END becomes its END flag (a small response is
 * two frames, RESPONSE and DATA with END, not three; an empty one a single RESPONSE with END),
 * and body bytes extend the DATA frame's payload up to the peer's `maxFrameBytes`. The bytes
 * are copied into the message either way, so a 64 KiB socket read no longer costs a frame of
 * its own: the peer decodes, accounts and hands on up to 256 KiB per frame.
 */
import { encodeFrame, setDataLength, setEndFlag } from './codec.js'
import type { Frame } from './frames.js'

export type SendMessage = (message: Buffer) => void

export class FrameWriter {
  readonly #send: SendMessage
  readonly #maxMessageBytes: number
  readonly #maxFrameBytes: number
  #parts: Buffer[] = []
  #bytes = 0
  #scheduled: NodeJS.Immediate | undefined
  /** Stream and encoded head of the batch's last frame while it is a DATA or RESPONSE frame without END. */
  #openStream = -1
  #openHead: Buffer | undefined
  /** Payload bytes of that frame when it is DATA; -1 for a RESPONSE (no bytes join a head). */
  #openPayload = -1

  /**
   * `send` writes one message to the socket; `maxMessageBytes` and `maxFrameBytes` are the
   * peer's limits (0 for `maxFrameBytes`: DATA frames are never joined).
   */
  constructor (send: SendMessage, maxMessageBytes: number, maxFrameBytes = 0) {
    this.#send = send
    this.#maxMessageBytes = maxMessageBytes
    this.#maxFrameBytes = maxFrameBytes
  }

  /** Queues a frame for the current batch. */
  write (frame: Frame): void {
    if (frame.type === 'data' && frame.stream === this.#openStream && this.#join(frame.chunk, frame.end)) return
    const parts = encodeFrame(frame)
    let size = 0
    for (const p of parts) size += p.byteLength
    if (this.#bytes > 0 && this.#bytes + size > this.#maxMessageBytes) this.flush()
    for (const p of parts) this.#parts.push(p)
    this.#bytes += size
    if ((frame.type === 'data' || frame.type === 'response') && !frame.end) {
      this.#openStream = frame.stream
      this.#openHead = parts[0]
      this.#openPayload = frame.type === 'data' ? frame.chunk.byteLength : -1
    } else {
      this.#closeOpen()
    }
    if (this.#scheduled === undefined) this.#scheduled = setImmediate(flushWriter, this)
  }

  /** Joins DATA of the open stream to the batch's last frame; false when it must be a frame of its own. */
  #join (chunk: Uint8Array, end: boolean): boolean {
    const head = this.#openHead
    if (head === undefined) return false
    const n = chunk.byteLength
    if (n > 0) {
      if (this.#openPayload < 0 || this.#openPayload + n > this.#maxFrameBytes || this.#bytes + n > this.#maxMessageBytes) return false
      this.#openPayload += n
      setDataLength(head, this.#openPayload)
      this.#parts.push(chunk as Buffer)
      this.#bytes += n
    } else if (!end) {
      return false
    }
    if (end) {
      setEndFlag(head)
      this.#closeOpen()
    }
    return true
  }

  #closeOpen (): void {
    this.#openStream = -1
    this.#openHead = undefined
    this.#openPayload = -1
  }

  /** Sends the pending batch now. */
  flush (): void {
    if (this.#scheduled !== undefined) {
      clearImmediate(this.#scheduled)
      this.#scheduled = undefined
    }
    if (this.#bytes === 0) return
    this.#closeOpen()
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
    this.#closeOpen()
  }
}

function flushWriter (writer: FrameWriter): void {
  writer.flush()
}
