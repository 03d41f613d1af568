/**
 * One call on the agent: a REQUEST frame in, a response out. It checks the target, builds the
 * headers, runs the executor, and is the executor's sink: the response head becomes a RESPONSE
 * frame, body chunks become DATA within the cloud's credit, a failure becomes a RESET. Request
 * body DATA from the cloud feeds a RequestBody whose consumption returns credit.
 */
import { OutbridgeError, codeOf, type ErrorCode } from '../protocol/errors.js'
import type { HeaderList, RequestFrame } from '../protocol/frames.js'
import { ReceiveWindow } from '../protocol/flow-control.js'
import type { FrameWriter } from '../protocol/frame-writer.js'
import { StreamSender } from '../protocol/stream-sender.js'
import type { ExecRequest, Execution, Executor, ResponseSink } from './executor.js'
import { requestHeadersForTarget, responseHeadersForCloud, type HeaderLimits } from './headers.js'
import type { TargetPolicy } from './policy.js'
import { headersForHop, MAX_REDIRECTS, nextHop } from './redirect.js'
import { RequestBody } from './request-body.js'

/** One request of a call: the first, or a redirect hop. */
interface Hop {
  readonly url: string
  readonly method: string
  readonly headers: HeaderList
  readonly credential?: string
  readonly body?: RequestBody
  readonly timeoutMs: number
}



/** What every stream of a session shares. */
export interface StreamContext {
  readonly writer: FrameWriter
  readonly policy: TargetPolicy
  readonly executor: Executor
  /** Header to add for a named local credential; undefined when unknown. */
  readonly credentialHeader: (name: string) => Promise<readonly [string, string] | undefined>
  /** Credit the agent grants per stream for request bodies, in bytes. */
  readonly receiveWindow: number
  /** Credit the cloud grants per stream for response bodies, in bytes. */
  readonly sendWindow: number
  readonly maxFrameBytes: number
  readonly maxBodyBytes: number
  /** Timeout for calls that name none, in ms. */
  readonly defaultTimeout: number
  /** Follow redirects for every call (each hop checked against the rules). */
  readonly followRedirects: boolean
  /** Limits on the caller's request headers. @default DEFAULT_HEADER_LIMITS */
  readonly headerLimits?: HeaderLimits
}

export interface StreamObserver {
  /** The stream is over (both directions done or reset); remove it. */
  closed (stream: AgentStream, outcome: ErrorCode | 'OK', bytesIn: number, bytesOut: number, durationMs: number): void
}

export class AgentStream implements ResponseSink {
  readonly id: number
  readonly #ctx: StreamContext
  readonly #observer: StreamObserver
  /** The target request of the current hop, once dispatched. */
  #execution: Execution | undefined
  readonly #window: ReceiveWindow
  readonly #sender: StreamSender
  #body: RequestBody | undefined
  #resume: (() => void) | undefined
  readonly #startedAt = performance.now()
  #bytesIn = 0
  #bytesOut = 0
  #closed = false
  /** The accepted call, until `run` starts it. */
  #first: Hop | undefined
  #follow = false

  constructor (id: number, ctx: StreamContext, observer: StreamObserver) {
    this.id = id
    this.#ctx = ctx
    this.#observer = observer
    this.#window = new ReceiveWindow(ctx.receiveWindow)
    this.#sender = new StreamSender(id, ctx.writer, ctx.sendWindow, ctx.maxFrameBytes, () => this.#onDrain())
  }

  /**
   * Takes the call described by `frame`: from now on the stream accepts DATA (buffered within its
   * window), WINDOW and RESET, while the target request waits for `run`. Cheap and synchronous,
   * so a session can take a burst of calls at once and start them a slice at a time.
   */
  accept (frame: RequestFrame): void {
    if (!frame.end) {
      this.#body = new RequestBody((n) => this.#consumed(n))
    }
    const follow = frame.followRedirects === true || this.#ctx.followRedirects
    this.#first = { url: frame.url, method: frame.method, headers: frame.headers, credential: frame.credential, body: this.#body, timeoutMs: frame.timeoutMs }
    this.#follow = follow
  }

  /** Starts the accepted call, unless it was reset meanwhile. Never throws: every failure becomes a RESET. */
  run (): void {
    const hop = this.#first
    this.#first = undefined
    if (hop === undefined || this.#closed) return
    this.#run(hop, this.#follow ? 0 : -1)
  }

  /** Runs one hop; `redirects` counts hops followed so far, -1 when redirects are not followed. */
  #run (hop: Hop, redirects: number): void {
    this.#prepare(hop).then((exec) => {
      if (this.#closed) return
      const sink = redirects < 0 || redirects >= MAX_REDIRECTS ? this : this.#redirectSink(hop, redirects)
      this.#execution = this.#ctx.executor.execute(exec, sink)
    }, (err: unknown) => {
      this.fail(codeOf(err), err instanceof OutbridgeError ? err.message : 'the call could not be prepared')
    })
  }

  async #prepare (hop: Hop): Promise<ExecRequest> {
    const target = await this.#ctx.policy.check(hop.url)
    let extra: string[] | undefined
    if (hop.credential !== undefined) {
      const header = await this.#ctx.credentialHeader(hop.credential)
      if (header === undefined) throw new OutbridgeError('UNKNOWN_CREDENTIAL', `no credential named "${hop.credential}" on this bridge`)
      extra = [header[0], header[1]]
    }
    const headers = requestHeadersForTarget(hop.headers, target, extra, this.#ctx.headerLimits)
    const timeoutMs = hop.timeoutMs > 0 ? hop.timeoutMs : this.#ctx.defaultTimeout
    return { method: hop.method, target, headers, body: hop.body, timeoutMs }
  }

  /** A sink that turns a followable 3xx into the next hop and passes anything else on. */
  #redirectSink (hop: Hop, redirects: number): ResponseSink {
    let followed = false
    const live = (): boolean => !followed
    return {
      head: (status, headers) => {
        if (!live()) return
        const next = nextHop(status, headers, hop.url, hop.method, hop.body !== undefined)
        if (next === undefined) { this.head(status, headers); return }
        followed = true
        this.#execution?.abort('CANCELLED', 'redirect followed')
        const sameOrigin = new URL(next.url).origin === new URL(hop.url).origin
        const keepBody = next.method === hop.method
        this.#run({
          url: next.url,
          method: next.method,
          headers: headersForHop(hop.headers, sameOrigin, keepBody),
          credential: sameOrigin ? hop.credential : undefined,
          body: undefined,
          timeoutMs: hop.timeoutMs
        }, redirects + 1)
      },
      data: (chunk, resume) => live() ? this.data(chunk, resume) : true,
      end: () => { if (live()) this.end() },
      fail: (code, message) => { if (live()) this.fail(code, message) }
    }
  }

  /** DATA from the cloud: request body bytes. */
  onData (chunk: Uint8Array, end: boolean): void {
    if (this.#closed) return
    if (this.#body === undefined) { this.#reset('PROTOCOL_ERROR', 'DATA after the request ended'); return }
    if (!this.#window.receive(chunk.byteLength)) { this.#reset('PROTOCOL_ERROR', 'DATA beyond the granted window'); return }
    this.#bytesIn += chunk.byteLength
    if (this.#bytesIn > this.#ctx.maxBodyBytes) { this.#reset('BODY_TOO_LARGE', `the request body exceeds ${this.#ctx.maxBodyBytes} bytes`); return }
    if (chunk.byteLength > 0) this.#body.push(chunk)
    if (end) {
      this.#body.end()
      this.#body = undefined
    }
  }

  /** WINDOW from the cloud: more credit for the response body. */
  onWindow (increment: number): void {
    if (!this.#closed && !this.#sender.grant(increment)) this.#reset('PROTOCOL_ERROR', 'WINDOW overflow')
  }

  /** RESET from the cloud (the caller went away): abort the target request. */
  onReset (code: ErrorCode, message: string): void {
    if (!this.#closed) this.#close(code, message)
  }

  /** The session is gone: abort without sending anything. */
  abandon (code: ErrorCode, message: string): void {
    this.onReset(code, message)
  }

  head (status: number, headers: HeaderList): void {
    if (this.#closed) return
    this.#ctx.writer.write({ type: 'response', stream: this.id, end: false, status, headers: responseHeadersForCloud(headers) })
  }

  data (chunk: Buffer, resume: () => void): boolean {
    if (this.#closed) return true
    this.#bytesOut += chunk.byteLength
    if (this.#bytesOut > this.#ctx.maxBodyBytes) {
      this.fail('BODY_TOO_LARGE', `the response body exceeds ${this.#ctx.maxBodyBytes} bytes`)
      return true
    }
    if (this.#sender.write(chunk)) return true
    this.#resume = resume
    return false
  }

  end (): void {
    if (this.#closed) return
    this.#sender.end()
    if (this.#sender.ended) this.#close('OK', '')
  }

  /** The call failed (from the executor, or here): RESET, and the target request is aborted. */
  fail (code: ErrorCode, message: string): void {
    this.#reset(code, message)
  }

  #reset (code: ErrorCode, message: string): void {
    if (this.#closed) return
    this.#ctx.writer.write({ type: 'reset', stream: this.id, code, message })
    this.#close(code, message)
  }

  #close (outcome: ErrorCode | 'OK', message: string): void {
    this.#closed = true
    // Aborting a finished execution is a no-op; a running one tells its sink (us: already closed).
    if (outcome !== 'OK') this.#execution?.abort(outcome, message)
    this.#body?.destroy(new OutbridgeError(outcome === 'OK' ? 'CANCELLED' : outcome, 'stream closed'))
    this.#observer.closed(this, outcome, this.#bytesIn, this.#bytesOut, performance.now() - this.#startedAt)
  }

  #consumed (bytes: number): void {
    const increment = this.#window.consume(bytes)
    if (increment > 0 && !this.#closed) this.#ctx.writer.write({ type: 'window', stream: this.id, increment })
  }

  #onDrain (): void {
    const resume = this.#resume
    this.#resume = undefined
    resume?.()
    if (this.#sender.ended) this.#close('OK', '')
  }
}
