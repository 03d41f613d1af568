/**
 * The wiring of a running bridge: Connection (bytes) -> AgentSession (frames) -> AgentStream
 * -> Executor, plus heartbeats, state for /healthz, and the drain on shutdown. The only module
 * that knows all of them.
 */
import { EventEmitter } from 'node:events'
import type { ErrorCode } from '../protocol/errors.js'
import type { HelloFrame, PeerLimits } from '../protocol/frames.js'
import { CLOSE_CODE, PROTOCOL_VERSIONS, subprotocolOf } from '../protocol/version.js'
import type { ConnectFailure } from './connect-errors.js'
import { Connection, type ConnectionOptions as SocketOptions } from './connection.js'
import { AgentSession, type SessionOptions } from './dispatcher.js'
import type { JobLink } from './jobs/job-client.js'
import type { Logger } from './logger.js'

export type BridgeState = 'connecting' | 'connected' | 'rejected' | 'draining' | 'stopped'

export interface BridgeOptions {
  readonly name: string
  readonly socket: Omit<SocketOptions, 'protocols'>
  readonly limits: PeerLimits
  readonly agentVersion: string
  readonly capabilities: readonly string[]
  readonly streamContext: SessionOptions['streamContext']
  /** Sync jobs (issue #5): attached to each session once welcomed. */
  readonly jobs?: JobLink
  readonly heartbeatInterval: number
  readonly handshakeTimeout: number
  readonly log: Logger
}

export interface BridgeStatus {
  readonly state: BridgeState
  readonly reason?: string
  readonly session?: string
  readonly since: number
  readonly rttMs?: number
  readonly inFlight: number
  readonly reconnects: number
}

/** Events: 'state' (status), 'stream' (outcome, bytesIn, bytesOut, durationMs), 'rtt' (ms), 'failure' (ConnectFailure). */
export class Bridge extends EventEmitter {
  readonly #options: BridgeOptions
  readonly #log: Logger
  readonly #connection: Connection
  #session: AgentSession | undefined
  #state: BridgeState = 'connecting'
  #reason: string | undefined
  #since = Date.now()
  #sessionId: string | undefined
  #rtt: number | undefined
  #reconnects = 0
  #lastFailureKind: string | undefined
  #heartbeat: NodeJS.Timeout | undefined
  #handshakeTimer: NodeJS.Timeout | undefined
  #idle: (() => void) | undefined

  constructor (options: BridgeOptions) {
    super()
    this.#options = options
    this.#log = options.log
    this.#connection = new Connection({ ...options.socket, protocols: PROTOCOL_VERSIONS.map(subprotocolOf) }, {
      onOpen: () => this.#onOpen(),
      onMessage: (data) => this.#session?.receive(data),
      onClose: (code, reason) => this.#onClose(code, reason),
      onFailure: (failure) => this.#onFailure(failure)
    })
  }

  get status (): BridgeStatus {
    return {
      state: this.#state,
      reason: this.#reason,
      session: this.#sessionId,
      since: this.#since,
      rttMs: this.#rtt,
      inFlight: this.#session?.inFlight ?? 0,
      reconnects: this.#reconnects
    }
  }

  start (): void {
    this.#connection.start()
    this.#heartbeat = setInterval(() => this.#beat(), this.#options.heartbeatInterval)
  }

  /**
   * Stops taking new calls, tells the cloud, waits for in-flight calls up to `timeoutMs`, then
   * closes. Resolves with the number of calls still running when the wait ended.
   */
  async drain (timeoutMs: number): Promise<number> {
    this.#setState('draining', 'shutting down')
    const session = this.#session
    if (session !== undefined && session.welcomed) {
      // GOAWAY even when idle: a REQUEST already on its way is then refused with RESET DRAINING,
      // which the cloud may retry elsewhere, instead of dying with the socket. Wait a couple of
      // round trips for such stragglers, and for every call in flight, within the bound.
      session.drain()
      const deadline = Date.now() + timeoutMs
      const settle = Math.min(timeoutMs, Math.max(100, 2 * (this.#rtt ?? 50)))
      await sleep(settle)
      if (session.inFlight > 0 && Date.now() < deadline) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.max(0, deadline - Date.now()))
          this.#idle = () => { clearTimeout(timer); resolve() }
        })
      }
    }
    const left = this.#session?.inFlight ?? 0
    // The last call's final frames may still sit in the batch of this turn: send them first.
    this.#session?.flush()
    this.stop()
    return left
  }

  /** Closes at once, aborting whatever is in flight. */
  stop (): void {
    if (this.#state === 'stopped') return
    this.#setState('stopped', 'stopped')
    clearInterval(this.#heartbeat)
    clearTimeout(this.#handshakeTimer)
    this.#session?.abandon('BRIDGE_DISCONNECTED', 'the bridge stopped')
    this.#session = undefined
    this.#options.jobs?.close().catch((err: unknown) => this.#log.warn({ bridge: this.#options.name, err: (err as Error).message }, 'closing the job outbox failed'))
    this.#connection.stop(CLOSE_CODE.normal, 'bridge stopped')
  }

  #hello (): HelloFrame {
    const { name, agentVersion, capabilities, limits } = this.#options
    return { type: 'hello', versions: PROTOCOL_VERSIONS, name, agent: agentVersion, capabilities, limits }
  }

  #onOpen (): void {
    const { jobs } = this.#options
    const session = new AgentSession((message) => this.#connection.send(message), {
      hello: this.#hello(),
      limits: this.#options.limits,
      streamContext: this.#options.streamContext,
      ...(jobs === undefined ? {} : { jobs: (frame) => jobs.receive(frame) })
    }, {
      welcomed: (welcome) => {
        clearTimeout(this.#handshakeTimer)
        this.#sessionId = welcome.session
        this.#lastFailureKind = undefined
        if (this.#state !== 'draining' && this.#state !== 'stopped') this.#setState('connected', undefined)
        this.#log.info({ bridge: this.#options.name, session: welcome.session, version: welcome.version }, 'connected')
        jobs?.attach((frame) => session.sendJob(frame), welcome.limits)
      },
      ended: (code, message, byPeer) => this.#onSessionEnded(code, message, byPeer),
      rtt: (ms) => { this.#rtt = ms; this.emit('rtt', ms) },
      streamClosed: (id, outcome, bytesIn, bytesOut, durationMs) => {
        if (outcome !== 'OK') this.#log.debug({ bridge: this.#options.name, stream: id, code: outcome }, 'call failed')
        this.emit('stream', outcome, bytesIn, bytesOut, durationMs)
        if (this.#session?.inFlight === 0) this.#idle?.()
      }
    })
    this.#session = session
    session.open()
    this.#handshakeTimer = setTimeout(() => {
      this.#log.warn({ bridge: this.#options.name }, 'no WELCOME from the cloud in time; reconnecting')
      this.#connection.reconnect(CLOSE_CODE.protocolError, 'handshake timeout', true)
    }, this.#options.handshakeTimeout)
  }

  #onSessionEnded (code: ErrorCode, message: string, byPeer: boolean): void {
    const bridge = this.#options.name
    if (code === 'SHUTDOWN' && byPeer) {
      // Orderly: the cloud closes the socket when its calls are done; we reconnect then.
      this.#log.info({ bridge, code }, `the cloud is ending the session (${message}); will reconnect`)
      return
    }
    if (code === 'UNSUPPORTED_VERSION') {
      this.#connection.markRefused()
      this.#log.error({ bridge, code }, `no protocol version in common with the cloud: ${message}`)
      this.#connection.reconnect(CLOSE_CODE.unsupportedVersion, code)
      return
    }
    this.#log.warn({ bridge, code, byPeer }, `session ended: ${message}`)
    this.#connection.reconnect(CLOSE_CODE.protocolError, code)
  }

  #onClose (code: number, reason: string): void {
    clearTimeout(this.#handshakeTimer)
    const hadSession = this.#session?.welcomed === true
    this.#session?.abandon('BRIDGE_DISCONNECTED', 'the connection to the cloud was lost')
    this.#options.jobs?.detach()
    this.#session = undefined
    this.#sessionId = undefined
    if (this.#state === 'stopped') return
    if (hadSession) {
      this.#reconnects++
      // An orderly end (cloud restart, token renewal) is routine; anything else is worth a warning.
      const orderly = code === CLOSE_CODE.normal || code === CLOSE_CODE.goingAway || code === CLOSE_CODE.tokenExpired
      this.#log[orderly ? 'info' : 'warn']({ bridge: this.#options.name, closeCode: code, reason }, 'disconnected; reconnecting')
    }
    if (this.#state !== 'draining' && this.#state !== 'rejected') this.#setState('connecting', `disconnected (${code}${reason === '' ? '' : ' ' + reason})`)
    this.#idle?.()
  }

  #onFailure (failure: ConnectFailure): void {
    if (this.#state === 'stopped') return
    const bridge = this.#options.name
    const repeated = this.#lastFailureKind === failure.kind
    this.#lastFailureKind = failure.kind
    if (failure.kind === 'rejected') {
      if (!repeated) this.#log.error({ bridge, code: 'rejected' }, `credentials rejected: ${failure.message}; check --client-id and the secret`)
      if (this.#state !== 'draining') this.#setState('rejected', failure.message)
    } else {
      this.#log[repeated ? 'debug' : 'warn']({ bridge, code: failure.kind, detail: failure.detail }, failure.message)
      if (this.#state !== 'draining') this.#setState('connecting', failure.message)
    }
    this.emit('failure', failure)
  }

  #beat (): void {
    const session = this.#session
    if (session === undefined || !session.welcomed) return
    const silentFor = performance.now() - session.lastSeen
    if (silentFor > 2 * this.#options.heartbeatInterval) {
      this.#log.warn({ bridge: this.#options.name, silentMs: Math.round(silentFor) }, 'the cloud stopped answering heartbeats; reconnecting')
      this.#connection.reconnect(CLOSE_CODE.heartbeatTimeout, 'heartbeat timeout', true)
      return
    }
    session.ping()
  }

  #setState (state: BridgeState, reason: string | undefined): void {
    if (this.#state === state && this.#reason === reason) return
    this.#state = state
    this.#reason = reason
    this.#since = Date.now()
    this.emit('state', this.status)
  }
}

function sleep (ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
