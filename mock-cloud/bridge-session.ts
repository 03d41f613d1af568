/**
 * The cloud's side of one bridge session: HELLO/WELCOME and version choice, heartbeats both
 * ways, the table of calls, and the routing of frames to them. It owns one authenticated ws
 * socket; the API layer opens calls through `open`.
 */
import { randomUUID } from 'node:crypto'
import type WebSocket from 'ws'
import { decodeMessage, type DecodedFrame } from '../protocol/codec.js'
import { OutbridgeError } from '../protocol/errors.js'
import { FrameWriter } from '../protocol/frame-writer.js'
import type { HelloFrame, PeerLimits } from '../protocol/frames.js'
import type { AgentJobFrame, CloudJobFrame } from '../protocol/job-frames.js'
import { StreamTable } from '../protocol/stream-table.js'
import { CLOSE_CODE, dataPayloadLimit, negotiateVersion, PROTOCOL_VERSIONS } from '../protocol/version.js'
import type { Logger } from '../agent/logger.js'
import { TunnelCall, type CallHandler, type CallRequest } from './tunnel-call.js'

/** Extra wait beyond the agent's own timeout before the cloud gives up on a call, in ms. */
const CALL_TIMEOUT_GRACE = 5_000

export type SessionState = 'handshake' | 'open' | 'draining' | 'closed'

export interface SessionOptions {
  readonly clientId: string
  readonly limits: PeerLimits
  readonly heartbeatMs: number
  /** Time allowed between the upgrade and HELLO, in ms. */
  readonly helloTimeout: number
  /**
   * When set, the session ends when its token expires (ms since the epoch): GOAWAY, then close
   * code 4003 once its calls are done, and the bridge reconnects at once with a fresh token.
   */
  readonly expiresAt?: number
  /** Cloud-side wait for a response head when a call names no timeout, in ms. */
  readonly defaultCallTimeout: number
  readonly log: Logger
  /** Where the bridge's sync job frames go (issue #5); without it they are answered with an ERROR. */
  readonly jobs?: (session: BridgeSession, frame: AgentJobFrame) => void
}

export interface SessionEvents {
  ready (session: BridgeSession): void
  closed (session: BridgeSession): void
  changed (session: BridgeSession): void
}

export class BridgeSession {
  readonly id = randomUUID()
  readonly clientId: string
  readonly connectedAt = new Date()
  name = ''
  agentVersion = ''
  capabilities: readonly string[] = []
  state: SessionState = 'handshake'
  rttMs: number | undefined
  readonly #ws: WebSocket
  readonly #options: SessionOptions
  readonly #events: SessionEvents
  readonly #calls = new StreamTable<TunnelCall>()
  #writer: FrameWriter
  #peer: PeerLimits | undefined
  #nextId = 1
  #lastSeen = performance.now()
  #timer: NodeJS.Timeout
  #expiry: NodeJS.Timeout | undefined
  #shuttingDown = false

  constructor (ws: WebSocket, options: SessionOptions, events: SessionEvents) {
    this.#ws = ws
    this.#options = options
    this.#events = events
    this.clientId = options.clientId
    this.#writer = new FrameWriter((m) => this.#send(m), 64 * 1024)
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) this.#receive(data)
      else this.#protocolError('text messages are not part of the protocol')
    })
    ws.on('close', () => this.#closed())
    ws.on('error', (err) => options.log.debug({ session: this.id, err: err.message }, 'bridge socket error'))
    this.#timer = setTimeout(() => this.close(CLOSE_CODE.protocolError, 'no HELLO in time'), options.helloTimeout)
  }

  get inFlight (): number {
    return this.#calls.size
  }

  /** Queues a sync job frame; false when the session is not open or draining. */
  sendJob (frame: CloudJobFrame): boolean {
    if (this.state !== 'open' && this.state !== 'draining') return false
    this.#writer.write(frame)
    return true
  }

  /** Opens a call on this bridge. Throws OutbridgeError('BRIDGE_UNAVAILABLE') when it takes none. */
  open (request: CallRequest, handler: CallHandler): TunnelCall {
    if (this.state !== 'open' || this.#peer === undefined) throw new OutbridgeError('BRIDGE_UNAVAILABLE', `bridge "${this.name}" is ${this.state}`)
    const id = this.#nextId
    this.#nextId += 2
    const call = new TunnelCall(id, {
      writer: this.#writer,
      sendWindow: this.#peer.initialWindow,
      receiveWindow: this.#options.limits.initialWindow,
      maxFrameBytes: dataPayloadLimit(this.#peer),
      maxBodyBytes: this.#options.limits.maxBodyBytes,
      headTimeout: (request.timeoutMs > 0 ? request.timeoutMs : this.#options.defaultCallTimeout) + CALL_TIMEOUT_GRACE,
      closed: (c) => this.#callClosed(c)
    }, request, handler)
    this.#calls.set(id, call)
    this.#events.changed(this)
    return call
  }

  /** Orderly shutdown: GOAWAY, then close once calls are done or `graceMs` passed. */
  async shutdown (graceMs: number, code: number = CLOSE_CODE.goingAway, reason = 'shutdown'): Promise<void> {
    if (this.state === 'closed' || this.#shuttingDown) return
    this.#shuttingDown = true
    this.#writer.write({ type: 'goaway', code: 'SHUTDOWN', message: reason === 'shutdown' ? 'the cloud is shutting down' : reason })
    this.#writer.flush()
    this.state = 'draining'
    const deadline = Date.now() + graceMs
    this.#events.changed(this)
    while (this.#calls.size > 0 && Date.now() < deadline && this.#ws.readyState === this.#ws.OPEN) await new Promise((resolve) => setTimeout(resolve, 20))
    this.close(code, reason)
  }

  #expire (): void {
    this.#options.log.info({ bridge: this.name, session: this.id }, 'token expired; ending the session')
    this.shutdown(30_000, CLOSE_CODE.tokenExpired, 'token expired').catch(() => {})
  }

  close (code: number, reason: string): void {
    if (this.state === 'closed') return
    this.#writer.flush()
    this.#ws.close(code, reason)
    // A peer that never answers the close handshake must not hold the socket.
    setTimeout(() => this.#ws.terminate(), 2_000).unref()
    this.#closed()
  }

  #send (message: Buffer): void {
    if (this.#ws.readyState === this.#ws.OPEN) this.#ws.send(message)
  }

  #receive (data: Buffer): void {
    this.#lastSeen = performance.now()
    const { frames, error } = decodeMessage(data, { maxFrameBytes: this.#options.limits.maxFrameBytes })
    for (const frame of frames) {
      if (this.state === 'closed') return
      this.#dispatch(frame)
    }
    if (error?.fatal === true && this.state !== 'closed') this.#protocolError(error.message)
  }

  #dispatch (frame: DecodedFrame): void {
    if (this.state === 'handshake' && frame.type !== 'hello') return this.#protocolError(`expected HELLO, got ${frame.type}`)
    switch (frame.type) {
      case 'hello': return this.#onHello(frame)
      case 'response': return this.#call(frame.stream)?.onResponse(frame.status, frame.headers, frame.end)
      case 'data': return this.#call(frame.stream)?.onData(frame.chunk, frame.end)
      case 'window': return this.#call(frame.stream)?.onWindow(frame.increment)
      case 'reset': return this.#call(frame.stream)?.onReset(frame.code, frame.message)
      case 'ping': return this.#writer.write({ type: 'pong', data: frame.data })
      case 'pong':
        this.rttMs = performance.now() - Buffer.from(frame.data).readDoubleBE(0)
        return undefined
      case 'goaway':
        this.state = 'draining'
        this.#options.log.info({ bridge: this.name, session: this.id, code: frame.code }, 'bridge is draining')
        this.#events.changed(this)
        return undefined
      case 'error':
        this.#options.log.warn({ bridge: this.name, session: this.id, code: frame.code }, `bridge reported: ${frame.message}`)
        return undefined
      case 'invalid': {
        if (frame.stream === 0) return this.#protocolError(frame.message)
        this.#call(frame.stream)?.fail('PROTOCOL_ERROR', `the bridge sent a malformed frame: ${frame.message}`, true)
        return undefined
      }
      case 'unknown':
        this.#writer.write({ type: 'error', code: 'PROTOCOL_ERROR', message: `unknown frame type ${frame.typeId}` })
        return undefined
      case 'job_state':
      case 'job_records':
      case 'job_poll':
        if (this.#options.jobs !== undefined) return this.#options.jobs(this, frame)
        this.#writer.write({ type: 'error', code: 'PROTOCOL_ERROR', message: 'this cloud runs no sync jobs' })
        return undefined
      case 'welcome':
      case 'request':
      case 'job_offer':
      case 'job_ack':
      case 'job_poll_end':
        return this.#protocolError(`a bridge may not send ${frame.type.toUpperCase()}`)
    }
  }

  #call (id: number): TunnelCall | undefined {
    const call = this.#calls.get(id)
    if (call === undefined && (id >= this.#nextId || id % 2 === 0)) this.#protocolError(`frame for stream ${id}, which was never opened`)
    return call
  }

  #onHello (hello: HelloFrame): void {
    if (this.state !== 'handshake') return this.#protocolError('a second HELLO')
    clearTimeout(this.#timer)
    this.name = hello.name
    this.agentVersion = hello.agent
    this.capabilities = hello.capabilities
    const version = negotiateVersion(hello.versions)
    if (version === undefined) {
      const message = `no protocol version in common: the bridge speaks ${hello.versions.join(', ')}, the cloud ${PROTOCOL_VERSIONS.join(', ')}`
      this.#options.log.warn({ bridge: hello.name, session: this.id, code: 'UNSUPPORTED_VERSION' }, message)
      this.#writer.write({ type: 'goaway', code: 'UNSUPPORTED_VERSION', message })
      this.close(CLOSE_CODE.unsupportedVersion, 'unsupported protocol version')
      return
    }
    this.#peer = hello.limits
    this.#writer.flush()
    this.#writer = new FrameWriter((m) => this.#send(m), hello.limits.maxMessageBytes, dataPayloadLimit(hello.limits))
    this.#writer.write({ type: 'welcome', version, session: this.id, heartbeatMs: this.#options.heartbeatMs, limits: this.#options.limits })
    this.state = 'open'
    this.#timer = setInterval(() => this.#beat(), this.#options.heartbeatMs)
    if (this.#options.expiresAt !== undefined) this.#expiry = setTimeout(() => this.#expire(), Math.max(0, this.#options.expiresAt - Date.now()))
    this.#events.ready(this)
  }

  #beat (): void {
    if (performance.now() - this.#lastSeen > 2 * this.#options.heartbeatMs) {
      this.#options.log.warn({ bridge: this.name, session: this.id }, 'bridge stopped answering heartbeats; dropping it')
      this.#ws.terminate()
      this.#closed()
      return
    }
    const data = Buffer.allocUnsafe(8)
    data.writeDoubleBE(performance.now())
    this.#writer.write({ type: 'ping', data })
  }

  #protocolError (message: string): void {
    this.#options.log.warn({ bridge: this.name, session: this.id, code: 'PROTOCOL_ERROR' }, message)
    this.#writer.write({ type: 'goaway', code: 'PROTOCOL_ERROR', message })
    this.close(CLOSE_CODE.protocolError, 'protocol error')
  }

  #callClosed (call: TunnelCall): void {
    this.#calls.delete(call.id)
    this.#events.changed(this)
  }

  #closed (): void {
    if (this.state === 'closed') return
    this.state = 'closed'
    clearTimeout(this.#timer)
    clearInterval(this.#timer)
    clearTimeout(this.#expiry)
    this.#writer.discard()
    for (const call of this.#calls.values()) call.fail('BRIDGE_DISCONNECTED', `bridge "${this.name}" disconnected during the call`, false)
    this.#calls.clear()
    this.#events.closed(this)
  }
}

