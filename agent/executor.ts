/**
 * Executes one checked request against a private target with undici's `dispatch()` and reports
 * to a sink: `head`, any number of `data`, then exactly one of `end` or `fail`. undici enters
 * the code base here. The executor knows no frames and no sockets; the connection goes to the
 * address the policy checked (`target.origin`), never to a fresh DNS answer. Bodies pass through
 * byte for byte (no decompression), and a body that ends early is a failure, never a success.
 */
import { Agent, type Dispatcher } from 'undici'
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
  /** Time allowed until the response head, and between body chunks, in ms. */
  readonly timeoutMs: number
}

export interface ExecutorOptions {
  /** TCP + TLS connect timeout toward targets, in ms. @default 10_000 */
  readonly connectTimeout: number
  /** Max response header bytes. @default 65_536 */
  readonly maxHeaderSize: number
}

export interface Executor {
  execute (request: ExecRequest, sink: ResponseSink, signal: AbortSignal): void
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
    execute: (request, sink, signal) => { execute(agent, request, sink, signal) },
    close: () => agent.close()
  }
}

/** A sink that forwards at most one terminal call. */
function once (sink: ResponseSink): ResponseSink & { readonly done: boolean, readonly started: boolean } {
  let done = false
  let started = false
  return {
    get done () { return done },
    get started () { return started },
    head (status, headers) { if (!done) { started = true; sink.head(status, headers) } },
    data (chunk, resume) { return done || sink.data(chunk, resume) },
    end () { if (!done) { done = true; sink.end() } },
    fail (code, message) { if (!done) { done = true; sink.fail(code, message) } }
  }
}

function execute (agent: Dispatcher, request: ExecRequest, outer: ResponseSink, signal: AbortSignal): void {
  const sink = once(outer)
  let controller: Dispatcher.DispatchController | undefined
  // The sink is told first: aborting makes undici report its own (code-less) error at once,
  // and the sink keeps only the first terminal call.
  const abort = (): void => {
    const reason = signal.reason as { code?: ErrorCode, message?: string } | undefined
    sink.fail(reason?.code ?? 'CANCELLED', reason?.message ?? 'the call was cancelled')
    controller?.abort(new Error('aborted by outbridge'))
  }
  if (signal.aborted) { abort(); return }
  signal.addEventListener('abort', abort, { once: true })
  const headTimer = setTimeout(() => {
    sink.fail('TARGET_TIMEOUT', `the target did not answer within ${request.timeoutMs} ms`)
    controller?.abort(new Error('timeout'))
  }, request.timeoutMs)
  const finish = (): void => {
    clearTimeout(headTimer)
    signal.removeEventListener('abort', abort)
  }
  const { target } = request
  // `servername` is accepted by undici's Request but missing from its DispatchOptions type.
  const options: Dispatcher.DispatchOptions & { servername?: string } = {
    origin: target.origin,
    path: target.path,
    method: request.method as Dispatcher.HttpMethod,
    headers: request.headers,
    body: request.body as Dispatcher.DispatchOptions['body'],
    servername: target.servername,
    headersTimeout: request.timeoutMs,
    bodyTimeout: request.timeoutMs,
    reset: false
  }
  agent.dispatch(options, {
    onRequestStart (ctrl) {
      controller = ctrl
      if (sink.done) ctrl.abort(new Error('already failed'))
    },
    onResponseStart (_ctrl, statusCode, headers) {
      clearTimeout(headTimer)
      sink.head(statusCode, flattenHeaders(headers))
    },
    onResponseData (ctrl, chunk) {
      if (!sink.data(chunk, () => ctrl.resume())) ctrl.pause()
    },
    onResponseEnd () {
      finish()
      sink.end()
    },
    onResponseError (_ctrl, err) {
      finish()
      sink.fail(...wireError(err, sink.started, request.timeoutMs))
    }
  })
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
