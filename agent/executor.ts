/**
 * Executes one checked request against a private target with undici's `dispatch()` and reports
 * to a sink: `head`, any number of `data`, then exactly one of `end` or `fail`. undici enters
 * the code base here. The executor knows no frames and no sockets; the connection goes to the
 * address the policy checked (`target.origin`), never to a fresh DNS answer. Bodies pass through
 * byte for byte (no decompression), and a body that ends early is a failure, never a success.
 */
import type { Dispatcher } from 'undici'
// The Agent class alone (undici-agent.d.ts says why not the package index).
import Agent from 'undici/lib/dispatcher/agent.js'
import type { ErrorCode } from '../protocol/errors.js'
import type { HeaderList } from '../protocol/frames.js'
import type { CheckedTarget } from './policy.js'

/** Where a response goes. Exactly one of `end` / `fail` is called, once. */
export interface ResponseSink {
  head (status: number, headers: HeaderList): void
  /** Returns false when the executor must pause until `resume` is called. */
  data (chunk: Buffer, resume: () => void): boolean
  end (): void
  fail (code: ErrorCode, message: string): void
}

export interface ExecRequest {
  readonly method: string
  readonly target: CheckedTarget
  /** Sanitised headers, Host included. */
  readonly headers: HeaderList
  readonly body?: AsyncIterable<Uint8Array>
  /** Time allowed until the response head (counted from the last request body chunk taken), and between body chunks either way, in ms. */
  readonly timeoutMs: number
}

export interface ExecutorOptions {
  /** TCP + TLS connect timeout toward targets, in ms. @default 10_000 */
  readonly connectTimeout: number
  /** Max response header bytes. @default 65_536 */
  readonly maxHeaderSize: number
}

/** A running call: `abort` ends it with a code (the sink hears of it first). */
export interface Execution {
  abort (code: ErrorCode, message: string): void
}

// `execute` returns a handle instead of taking an AbortSignal: an AbortController, its signal and
// listener per call measured about 3% of the agent's CPU per small request.
export interface Executor {
  execute (request: ExecRequest, sink: ResponseSink): Execution
  close (): Promise<void>
}

export function createExecutor (options: ExecutorOptions): Executor {
  const agent = new Agent({
    connect: { timeout: options.connectTimeout },
    maxHeaderSize: options.maxHeaderSize,
    keepAliveTimeout: 4_000,
    pipelining: 1,
    allowH2: false
  })
  return {
    execute: (request, sink) => new Call(agent, request, sink),
    close: () => agent.close()
  }
}

/**
 * One dispatched request: undici's handler, the head timer, and the guarantee that the sink
 * gets exactly one terminal call (a late undici error after an abort or timeout is dropped).
 */
class Call implements Execution, Dispatcher.DispatchHandler {
  readonly #sink: ResponseSink
  readonly #timeoutMs: number
  #controller: Dispatcher.DispatchController | undefined
  #timer: NodeJS.Timeout | undefined
  #started = false
  #done = false

  constructor (agent: Dispatcher, request: ExecRequest, sink: ResponseSink) {
    this.#sink = sink
    this.#timeoutMs = request.timeoutMs
    // Our own timer bounds the wait for the response head. A bodiless call gets `timeoutMs` from
    // dispatch on. With a body it is an idle timer while the body goes out (restarted each time
    // undici takes a chunk, so an upload that keeps moving is never late, however slowly its
    // caller sends it), and then the wait for the head from the moment the body is all sent.
    // undici's own headersTimeout does not run while a body is being sent, so a caller that
    // stalled mid-upload held the call for good: it is off for calls with a body.
    this.#timer = setTimeout(onHeadTimeout, request.timeoutMs, this)
    const body = request.body === undefined ? undefined : watchProgress(request.body, this)
    const { target } = request
    // `servername` is accepted by undici's Request but missing from its DispatchOptions type.
    const options: Dispatcher.DispatchOptions & { servername?: string } = {
      origin: target.origin,
      path: target.path,
      method: request.method as Dispatcher.HttpMethod,
      headers: request.headers,
      body: body as Dispatcher.DispatchOptions['body'],
      servername: target.servername,
      headersTimeout: body === undefined ? request.timeoutMs : 0,
      bodyTimeout: request.timeoutMs,
      reset: false
    }
    agent.dispatch(options, this)
  }

  abort (code: ErrorCode, message: string): void {
    // The sink is told first: aborting makes undici report its own (code-less) error at once.
    this.#fail(code, message)
    this.#controller?.abort(new Error('aborted by outbridge'))
  }

  /** The request body moved: restart the wait, unless the head is in or the call is over. */
  progress (): void {
    if (!this.#started && !this.#done) this.#timer?.refresh()
  }

  timeout (): void {
    this.abort('TARGET_TIMEOUT', `the target did not answer within ${this.#timeoutMs} ms`)
  }

  onRequestStart (controller: Dispatcher.DispatchController): void {
    this.#controller = controller
    if (this.#done) controller.abort(new Error('already failed'))
  }

  onResponseStart (_controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    clearTimeout(this.#timer)
    if (this.#done) return
    this.#started = true
    this.#sink.head(statusCode, flattenHeaders(headers))
  }

  onResponseData (controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (!this.#done && !this.#sink.data(chunk, () => controller.resume())) controller.pause()
  }

  onResponseEnd (): void {
    clearTimeout(this.#timer)
    if (this.#done) return
    this.#done = true
    this.#sink.end()
  }

  onResponseError (_controller: Dispatcher.DispatchController, err: Error): void {
    this.#fail(...wireError(err, this.#started, this.#timeoutMs))
  }

  #fail (code: ErrorCode, message: string): void {
    clearTimeout(this.#timer)
    if (this.#done) return
    this.#done = true
    this.#sink.fail(code, message)
  }
}

function onHeadTimeout (call: Call): void {
  call.timeout()
}

/** `body`, telling `call` each time a chunk is taken and once more when the body is all taken. */
async function * watchProgress (body: AsyncIterable<Uint8Array>, call: Call): AsyncGenerator<Uint8Array> {
  for await (const chunk of body) {
    call.progress()
    yield chunk
  }
  call.progress()
}

/** undici's parsed headers (lower-case names; repeats as arrays) as a flat list. */
function flattenHeaders (headers: Record<string, string | string[] | undefined>): HeaderList {
  const out: HeaderList = []
  for (const name in headers) {
    const value = headers[name]
    if (value === undefined) continue
    if (Array.isArray(value)) for (const v of value) out.push(name, v)
    else out.push(name, value)
  }
  return out
}

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT', 'ETIMEDOUT'])

/** Maps an undici / socket error to a wire code and a message safe to show the caller. */
export function wireError (err: unknown, afterHead: boolean, timeoutMs: number): [ErrorCode, string] {
  const code = (err as { code?: string } | null)?.code ?? ''
  if (TIMEOUT_CODES.has(code)) {
    return ['TARGET_TIMEOUT', afterHead ? `the target stopped sending for ${timeoutMs} ms` : `the target did not answer within ${timeoutMs} ms`]
  }
  if (afterHead) return ['TARGET_ABORTED', `the target's response ended early (${code || 'aborted'})`]
  if (code === 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH') return ['BAD_REQUEST', 'the request body does not match its content-length']
  return ['TARGET_UNREACHABLE', `cannot reach the target (${code || (err as Error).message})`]
}
