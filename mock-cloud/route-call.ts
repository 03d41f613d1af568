/**
 * Opens a call on the bridge the registry picks, and moves it to another bridge when the picked
 * one refuses it with RESET DRAINING. That refusal is the race between a bridge's GOAWAY and
 * the cloud's pick: the REQUEST crossed the GOAWAY, and the agent answers it with DRAINING
 * without starting anything, so sending the call elsewhere is safe as long as no response head
 * came back and the request body can still be sent whole (it is held here, or none of it was
 * streamed yet). Every other failure goes to the caller as it is.
 */
import { codeOf, type ErrorCode } from '../protocol/errors.js'
import type { HeaderList } from '../protocol/frames.js'
import type { ServerResponse } from 'node:http'
import type { BridgeSession } from './bridge-session.js'
import type { CallTrace } from './recent-calls.js'
import type { BridgeRegistry } from './registry.js'
import type { CallHandler, CallRequest, TunnelCall } from './tunnel-call.js'

/** Bridges tried for one call, at most. */
export const MAX_ATTEMPTS = 3

/** A call to route: the REQUEST fields plus where it may go and, when held whole, its body. */
export interface RouteRequest extends CallRequest {
  /** A bridge name or client id (group); undefined, '' or `_` means any bridge. */
  readonly bridge?: string
  /** The whole request body, sent on every attempt; leave out to stream it with write()/end(). */
  readonly body?: Uint8Array
}

/** One call as the API layer sees it, whichever bridge carries it now. */
export class RoutedCall {
  readonly #registry: BridgeRegistry
  readonly #request: RouteRequest
  readonly #handler: CallHandler
  readonly #inner: CallHandler
  readonly #tried = new Set<BridgeSession>()
  #session: BridgeSession
  #call: TunnelCall
  #streamed = false
  #ended = false

  /** Picks a bridge and opens the call. Throws OutbridgeError('BRIDGE_UNAVAILABLE') when none takes it. */
  constructor (registry: BridgeRegistry, request: RouteRequest, handler: CallHandler) {
    this.#registry = registry
    this.#request = request.body === undefined ? request : { ...request, hasBody: true }
    this.#handler = handler
    this.#inner = {
      onHead: (status: number, headers: HeaderList) => handler.onHead(status, headers),
      onData: (chunk: Uint8Array, done: () => void) => handler.onData(chunk, done),
      onEnd: () => handler.onEnd(),
      onError: (code: ErrorCode, message: string, afterHead: boolean) => this.#onError(code, message, afterHead)
    }
    const first = this.#open()
    this.#session = first.session
    this.#call = first.call
  }

  /** The bridge carrying the call now. */
  get session (): BridgeSession {
    return this.#session
  }

  /** Bridges tried so far (1 unless a draining bridge refused the call). */
  get attempts (): number {
    return this.#tried.size
  }

  get done (): boolean {
    return this.#call.done
  }

  /** Streams request body bytes; false when the source should pause until `onDrain`. */
  write (chunk: Uint8Array, onDrain: () => void): boolean {
    if (chunk.byteLength > 0) this.#streamed = true
    return this.#call.write(chunk, onDrain)
  }

  /** Ends a streamed request body. */
  end (): void {
    this.#ended = true
    this.#call.end()
  }

  /** The caller went away or gave up: the bridge aborts the target request. */
  cancel (code: ErrorCode, message: string): void {
    this.#call.cancel(code, message)
  }

  /** Fails the call from the cloud's side and tells the handler. */
  fail (code: ErrorCode, message: string, notifyAgent: boolean): void {
    this.#call.fail(code, message, notifyAgent)
  }

  #open (): { session: BridgeSession, call: TunnelCall } {
    const session = this.#registry.pick(this.#request.bridge, this.#tried)
    this.#tried.add(session)
    const call = session.open(this.#request, this.#inner)
    const { body } = this.#request
    if (body !== undefined) {
      call.write(body, noop)
      call.end()
    } else if (this.#ended) {
      call.end()
    }
    return { session, call }
  }

  #onError (code: ErrorCode, message: string, afterHead: boolean): void {
    if (code !== 'DRAINING' || afterHead || this.#streamed || this.#tried.size >= MAX_ATTEMPTS) {
      this.#handler.onError(code, message, afterHead)
      return
    }
    let next: { session: BridgeSession, call: TunnelCall }
    try {
      next = this.#open()
    } catch (err) {
      this.#handler.onError(codeOf(err), (err as Error).message, false)
      return
    }
    this.#session = next.session
    this.#call = next.call
  }
}

function noop (): void {
  // A held body is queued whole by the stream sender; nothing waits for it to drain.
}

/** A caller who hangs up cancels the call (the bridge aborts the target request) and is recorded so. */
export function cancelWhenCallerLeaves (res: ServerResponse, call: RoutedCall, trace: CallTrace): void {
  trace.call = call
  res.on('close', function onCallerClose () {
    if (call.done) return
    call.cancel('CANCELLED', 'the caller went away')
    trace.finish(trace.status, 'CANCELLED')
  })
}
