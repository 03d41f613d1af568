/**
 * One call on the cloud side of a session: the REQUEST it opened, the request body it sends
 * within the agent's credit, and the response it receives, returning credit as the HTTP client
 * takes the bytes. The API layer talks to it through `CallHandler` and `write/end/cancel`.
 */
import type { ErrorCode } from '../protocol/errors.js'
import type { HeaderList } from '../protocol/frames.js'
import { ReceiveWindow } from '../protocol/flow-control.js'
import type { FrameWriter } from '../protocol/frame-writer.js'
import { StreamSender } from '../protocol/stream-sender.js'

/** What a call reports, in order: head, data..., then exactly one of end / error. */
export interface CallHandler {
  onHead (status: number, headers: HeaderList): void
  /** Call `done` once the chunk has left for the client: that returns credit to the agent. */
  onData (chunk: Uint8Array, done: () => void): void
  onEnd (): void
  /** `afterHead`: the response head was already delivered. */
  onError (code: ErrorCode, message: string, afterHead: boolean): void
}

export interface CallRequest {
  readonly method: string
  readonly url: string
  readonly headers: HeaderList
  /** Whole wait for the response head, in ms; 0 = the agent's default. */
  readonly timeoutMs: number
  readonly credential?: string
  readonly followRedirects?: boolean
  /** A request body follows through write()/end(). */
  readonly hasBody: boolean
}

export interface CallContext {
  readonly writer: FrameWriter
  readonly sendWindow: number
  readonly receiveWindow: number
  readonly maxFrameBytes: number
  readonly maxBodyBytes: number
  /** Give up when no response head arrived in this many ms (the agent's own timeout plus a grace). */
  readonly headTimeout: number
  /** The call is over; drop it from the session. */
  readonly closed: (call: TunnelCall) => void
}

export class TunnelCall {
  readonly id: number
  readonly #ctx: CallContext
  readonly #handler: CallHandler
  readonly #sender: StreamSender
  readonly #window: ReceiveWindow
  #onDrain: (() => void) | undefined
  #headSeen = false
  #done = false
  #bytesIn = 0
  #headTimer: NodeJS.Timeout | undefined

  constructor (id: number, ctx: CallContext, request: CallRequest, handler: CallHandler) {
    this.id = id
    this.#ctx = ctx
    this.#handler = handler
    this.#sender = new StreamSender(id, ctx.writer, ctx.sendWindow, ctx.maxFrameBytes, () => this.#drained())
    this.#window = new ReceiveWindow(ctx.receiveWindow)
    const { method, url, headers, timeoutMs, credential, followRedirects } = request
    ctx.writer.write({ type: 'request', stream: id, end: !request.hasBody, method, url, headers, timeoutMs, credential, followRedirects })
    // The wait for the answer starts once the request is all sent: a long upload is not late.
    if (!request.hasBody) this.#armHeadTimer()
  }

  #armHeadTimer (): void {
    if (this.#headTimer !== undefined || this.#headSeen || this.#done) return
    this.#headTimer = setTimeout(() => {
      this.fail('TARGET_TIMEOUT', `no answer from the bridge within ${this.#ctx.headTimeout} ms`, true)
    }, this.#ctx.headTimeout)
  }

  get done (): boolean {
    return this.#done
  }

  /** Request body bytes; false when the source should pause until `onDrain`. */
  write (chunk: Uint8Array, onDrain: () => void): boolean {
    if (this.#done) return true
    if (this.#sender.write(chunk)) return true
    this.#onDrain = onDrain
    return false
  }

  end (): void {
    if (this.#done) return
    this.#sender.end()
    this.#armHeadTimer()
  }

  /** The caller went away or gave up: tell the agent to abort the target request. */
  cancel (code: ErrorCode, message: string): void {
    if (this.#done) return
    this.#ctx.writer.write({ type: 'reset', stream: this.id, code, message })
    this.#finish()
  }

  /** Fails the call from the cloud's side (timeout, lost session) and tells the handler. */
  fail (code: ErrorCode, message: string, notifyAgent: boolean): void {
    if (this.#done) return
    if (notifyAgent) this.#ctx.writer.write({ type: 'reset', stream: this.id, code, message })
    this.#finish()
    this.#handler.onError(code, message, this.#headSeen)
  }

  onResponse (status: number, headers: HeaderList, end: boolean): void {
    if (this.#done) return
    if (this.#headSeen) { this.fail('PROTOCOL_ERROR', 'a second RESPONSE', true); return }
    this.#headSeen = true
    clearTimeout(this.#headTimer)
    this.#handler.onHead(status, headers)
    if (end) this.#complete()
  }

  onData (chunk: Uint8Array, end: boolean): void {
    if (this.#done) return
    if (!this.#headSeen) { this.fail('PROTOCOL_ERROR', 'DATA before RESPONSE', true); return }
    if (!this.#window.receive(chunk.byteLength)) { this.fail('PROTOCOL_ERROR', 'DATA beyond the granted window', true); return }
    this.#bytesIn += chunk.byteLength
    if (this.#bytesIn > this.#ctx.maxBodyBytes) { this.fail('BODY_TOO_LARGE', `the response body exceeds ${this.#ctx.maxBodyBytes} bytes`, true); return }
    if (chunk.byteLength > 0) this.#handler.onData(chunk, () => this.#consumed(chunk.byteLength))
    if (end) this.#complete()
  }

  onWindow (increment: number): void {
    if (!this.#done && !this.#sender.grant(increment)) this.fail('PROTOCOL_ERROR', 'WINDOW overflow', true)
  }

  onReset (code: ErrorCode, message: string): void {
    this.fail(code, message, false)
  }

  #complete (): void {
    this.#finish()
    this.#handler.onEnd()
  }

  #finish (): void {
    clearTimeout(this.#headTimer)
    this.#done = true
    this.#onDrain = undefined
    this.#ctx.closed(this)
  }

  #consumed (bytes: number): void {
    if (this.#done) return
    const increment = this.#window.consume(bytes)
    if (increment > 0) this.#ctx.writer.write({ type: 'window', stream: this.id, increment })
  }

  #drained (): void {
    const resume = this.#onDrain
    this.#onDrain = undefined
    resume?.()
  }
}
