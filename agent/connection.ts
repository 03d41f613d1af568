/**
 * The agent's one outbound WebSocket, kept up by reconnecting-websocket over ws. This module
 * moves bytes and knows no frame types: it hands every binary message to `onMessage` and offers
 * `send`. Delays between attempts come from our Backoff (drawn per retry, see backoff.ts), applied
 * in the URL provider, because RWS's own jitter is drawn once per process. RWS is told never to
 * queue (`maxEnqueuedMessages: 0`), so frames of a lost session never reach a new one.
 */
import RwsModule from 'reconnecting-websocket'
import type WebSocket from 'ws'
import { CLOSE_CODE } from '../protocol/version.js'
import { Backoff, type BackoffOptions } from './backoff.js'
import { cloudSocketClass, type CloudSocketOptions } from './cloud-socket.js'
import { classifyConnectError, type ConnectFailure } from './connect-errors.js'

// The package is CommonJS whose typings declare an ES default export; under NodeNext the class
// arrives as the module's default import itself.
const ReconnectingWebSocket = RwsModule as unknown as typeof RwsModule.default
type ReconnectingWebSocket = InstanceType<typeof ReconnectingWebSocket>

interface RwsEvent { readonly data?: unknown, readonly error?: unknown, readonly message?: string, readonly code?: number, readonly reason?: string }

export interface ConnectionHandlers {
  /** A socket is open (the upgrade was accepted). */
  onOpen (): void
  onMessage (data: Buffer): void
  /** The socket closed; a new attempt follows after `delayMs` unless the connection was stopped. */
  onClose (code: number, reason: string): void
  /** An attempt failed before or during the upgrade. */
  onFailure (failure: ConnectFailure): void
}

export interface ConnectionOptions extends Omit<CloudSocketOptions, 'authorization'> {
  readonly url: string
  readonly protocols: string[]
  /** Signs a fresh token for each attempt; must not reject (a rejection would stop RWS for good). */
  readonly token: () => Promise<string>
  readonly backoff?: Partial<BackoffOptions>
}

export class Connection {
  readonly #options: ConnectionOptions
  readonly #handlers: ConnectionHandlers
  readonly #backoff: Backoff
  #rws: ReconnectingWebSocket | undefined
  #authorization = ''
  #lastFailureRejected = false
  #immediate = false
  #attempts = 0
  #stopped = false
  #wait: { timer: NodeJS.Timeout, resolve: () => void } | undefined

  constructor (options: ConnectionOptions, handlers: ConnectionHandlers) {
    this.#options = options
    this.#handlers = handlers
    this.#backoff = new Backoff(options.backoff)
  }

  /** Connection attempts made so far. */
  get attempts (): number {
    return this.#attempts
  }

  /** Bytes queued in the socket but not yet written. */
  get bufferedAmount (): number {
    return this.#rws?.bufferedAmount ?? 0
  }

  start (): void {
    const socketClass = cloudSocketClass({ ...this.#options, authorization: () => this.#authorization })
    this.#rws = new ReconnectingWebSocket(() => this.#nextUrl(), this.#options.protocols, {
      WebSocket: socketClass,
      maxEnqueuedMessages: 0,
      // Our backoff delays in #nextUrl; RWS's own delay stays 0.
      minReconnectionDelay: 0,
      maxReconnectionDelay: 0,
      connectionTimeout: this.#options.handshakeTimeout + 1000,
      minUptime: 0x7fffffff
    })
    const rws = this.#rws as unknown as { binaryType: string, addEventListener (type: string, fn: (event: RwsEvent) => void): void }
    rws.binaryType = 'nodebuffer'
    rws.addEventListener('open', () => this.#onOpen())
    rws.addEventListener('message', (event) => this.#onMessage(event.data))
    rws.addEventListener('error', (event) => this.#onError(event.error, event.message ?? ''))
    rws.addEventListener('close', (event) => this.#onClose(event.code ?? 1006, event.reason ?? ''))
  }

  send (data: Buffer): void {
    this.#rws?.send(data)
  }

  /** Ends the current socket; a new attempt follows (e.g. after a dead peer or a GOAWAY). */
  reconnect (code: number, reason: string, hard = false): void {
    if (hard) (this.#socket() as WebSocket | undefined)?.terminate()
    else this.#rws?.reconnect(code, reason)
  }

  /** Closes for good. */
  stop (code = 1000, reason = ''): void {
    this.#stopped = true
    if (this.#wait !== undefined) {
      clearTimeout(this.#wait.timer)
      this.#wait.resolve()
    }
    this.#rws?.close(code, reason)
  }

  #socket (): unknown {
    return (this.#rws as unknown as { _ws?: WebSocket } | undefined)?._ws
  }

  async #nextUrl (): Promise<string> {
    if (this.#attempts > 0 && !this.#immediate) await this.#sleep(this.#backoff.next(Date.now(), this.#lastFailureRejected))
    this.#lastFailureRejected = false
    this.#immediate = false
    this.#attempts++
    try {
      this.#authorization = `Bearer ${await this.#options.token()}`
    } catch {
      this.#authorization = ''
    }
    return this.#options.url
  }

  #sleep (ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.#stopped) { resolve(); return }
      this.#wait = { timer: setTimeout(() => { this.#wait = undefined; resolve() }, ms), resolve }
    })
  }

  // The protocol is binary only; a text message (a string from ws) is a peer error, not a crash.
  #onMessage (data: unknown): void {
    if (Buffer.isBuffer(data)) this.#handlers.onMessage(data)
    else this.#handlers.onMessage(Buffer.alloc(0))
  }

  #onOpen (): void {
    this.#backoff.up(Date.now())
    this.#handlers.onOpen()
  }

  #onError (error: unknown, message: string): void {
    const failure = classifyConnectError(error, message)
    this.#lastFailureRejected = failure.kind === 'rejected'
    if (!this.#stopped) this.#handlers.onFailure(failure)
  }

  #onClose (code: number, reason: string): void {
    // The cloud ended the session because its token expired: come back at once with a new one.
    if (code === CLOSE_CODE.tokenExpired) {
      this.#immediate = true
      this.#backoff.renewed(Date.now())
    }
    this.#handlers.onClose(code, reason)
  }

  /** Marks the last session's end as a refusal (e.g. no common version) so the next wait is long. */
  markRefused (): void {
    this.#lastFailureRejected = true
  }
}
