/**
 * The agent's side of one session: decodes each message, runs the HELLO/WELCOME handshake,
 * answers pings, and routes stream frames to their AgentStream. It knows frame types and no
 * sockets: bytes come in through `receive`, go out through the FrameWriter. Nothing thrown by a
 * malformed message escapes: a bad stream frame resets that stream, a bad connection frame
 * ends the session with a GOAWAY naming the problem.
 *
 * A message may carry thousands of REQUEST frames. Each is accepted at once (counted against
 * `maxStreams`, refused or routed to without delay), but target requests are started at most
 * {@link STARTS_PER_TURN} per turn of the event loop, the rest after `setImmediate`: starting
 * 10,000 in one turn blocked the loop for seconds, long enough for the cloud to take the bridge
 * for dead. PING, WINDOW and RESET frames are never held behind that queue.
 */
import { decodeMessage, type DecodedFrame, type InvalidFrame } from '../protocol/codec.js'
import type { ErrorCode } from '../protocol/errors.js'
import type { HelloFrame, PeerLimits, WelcomeFrame } from '../protocol/frames.js'
import { FrameWriter } from '../protocol/frame-writer.js'
import type { AgentJobFrame, CloudJobFrame } from '../protocol/job-frames.js'
import { StreamTable } from '../protocol/stream-table.js'
import { dataPayloadLimit } from '../protocol/version.js'
import { AgentStream, type StreamContext, type StreamObserver } from './stream.js'

/** Target requests started per turn of the event loop (about 5 ms of work). */
export const STARTS_PER_TURN = 64

export interface SessionEvents {
  /** WELCOME arrived and agreed a version. */
  welcomed (welcome: WelcomeFrame): void
  /** The session must end: a protocol violation, no common version, or a GOAWAY from the cloud. */
  ended (code: ErrorCode, message: string, byPeer: boolean): void
  /** A PONG arrived for our PING: the round-trip time in ms. */
  rtt (ms: number): void
  /** A stream finished. */
  streamClosed (id: number, outcome: ErrorCode | 'OK', bytesIn: number, bytesOut: number, durationMs: number): void
}

export interface SessionOptions {
  readonly hello: HelloFrame
  /** What the agent accepts (announced in HELLO). */
  readonly limits: PeerLimits
  readonly streamContext: Omit<StreamContext, 'writer' | 'sendWindow' | 'maxFrameBytes'>
  /** Where the cloud's sync job frames go (issue #5); without it they are answered with an ERROR. Must not throw. */
  readonly jobs?: (frame: CloudJobFrame) => void
}

export class AgentSession implements StreamObserver {
  readonly #options: SessionOptions
  readonly #events: SessionEvents
  readonly #send: (message: Buffer) => void
  readonly #streams = new StreamTable<AgentStream>()
  #writer: FrameWriter
  #context: StreamContext | undefined
  #lastStreamId = 0
  #draining = false
  #ended = false
  /** Accepted streams whose target request is not started yet, oldest first from `#startAt`. */
  #starts: AgentStream[] = []
  #startAt = 0
  #startScheduled = false
  /** Last time any message arrived, for dead-peer detection (ms, monotonic). */
  lastSeen = performance.now()

  constructor (send: (message: Buffer) => void, options: SessionOptions, events: SessionEvents) {
    this.#send = send
    this.#options = options
    this.#events = events
    // Until WELCOME says otherwise, assume the smallest sane cloud message limit.
    this.#writer = new FrameWriter(send, 64 * 1024)
  }

  get inFlight (): number {
    return this.#streams.size
  }

  get welcomed (): boolean {
    return this.#context !== undefined
  }

  /** Sends HELLO. */
  open (): void {
    this.#writer.write(this.#options.hello)
    this.#writer.flush()
  }

  receive (message: Buffer): void {
    this.lastSeen = performance.now()
    const { frames, error } = decodeMessage(message, { maxFrameBytes: this.#options.limits.maxFrameBytes })
    for (const frame of frames) {
      if (this.#ended) return
      this.#dispatch(frame)
    }
    if (error?.fatal === true && !this.#ended) this.#end('PROTOCOL_ERROR', error.message, false)
    if (!this.#startScheduled) this.#startSome()
  }

  /** Starts up to STARTS_PER_TURN accepted calls; schedules the rest for the next turn. */
  #startSome (): void {
    const starts = this.#starts
    if (starts.length === 0) return
    const stop = Math.min(starts.length, this.#startAt + STARTS_PER_TURN)
    while (this.#startAt < stop && !this.#ended) starts[this.#startAt++].run()
    if (this.#startAt < starts.length && !this.#ended) {
      this.#startScheduled = true
      setImmediate(() => {
        this.#startScheduled = false
        this.#startSome()
      })
      return
    }
    this.#starts = []
    this.#startAt = 0
  }

  ping (): void {
    const data = Buffer.allocUnsafe(8)
    data.writeDoubleBE(performance.now())
    this.#writer.write({ type: 'ping', data })
  }

  /** Stop taking new calls; tell the cloud. */
  drain (): void {
    if (this.#draining) return
    this.#draining = true
    this.#writer.write({ type: 'goaway', code: 'DRAINING', message: 'the bridge is shutting down' })
    this.#writer.flush()
  }

  /** Queues a sync job frame; false when the session cannot send (not welcomed, or over). */
  sendJob (frame: AgentJobFrame): boolean {
    if (this.#ended || this.#context === undefined) return false
    this.#writer.write(frame)
    return true
  }

  /** Sends whatever the current batch holds now. */
  flush (): void {
    if (!this.#ended) this.#writer.flush()
  }

  /** The socket is gone: abort every call of this session, send nothing more. */
  abandon (code: ErrorCode, message: string): void {
    this.#ended = true
    this.#writer.discard()
    this.#starts = []
    this.#startAt = 0
    for (const stream of this.#streams.values()) stream.abandon(code, message)
    this.#streams.clear()
  }

  closed (stream: AgentStream, outcome: ErrorCode | 'OK', bytesIn: number, bytesOut: number, durationMs: number): void {
    if (this.#streams.delete(stream.id)) this.#events.streamClosed(stream.id, outcome, bytesIn, bytesOut, durationMs)
  }

  #dispatch (frame: DecodedFrame): void {
    switch (frame.type) {
      case 'welcome': return this.#onWelcome(frame)
      case 'request': return this.#onRequest(frame)
      case 'data': return this.#stream(frame.stream)?.onData(frame.chunk, frame.end)
      case 'window': return this.#stream(frame.stream)?.onWindow(frame.increment)
      case 'reset': return this.#stream(frame.stream)?.onReset(frame.code, frame.message)
      case 'ping': return this.#writer.write({ type: 'pong', data: frame.data })
      case 'pong': return this.#events.rtt(performance.now() - Buffer.from(frame.data).readDoubleBE(0))
      case 'goaway': return this.#end(frame.code, frame.message, true)
      case 'error': return undefined
      case 'invalid': return this.#onInvalid(frame)
      case 'unknown':
        if (frame.stream !== 0 && this.#streams.has(frame.stream)) this.#streams.get(frame.stream)?.fail('PROTOCOL_ERROR', `unknown frame type ${frame.typeId}`)
        else this.#writer.write({ type: 'error', code: 'PROTOCOL_ERROR', message: `unknown frame type ${frame.typeId}` })
        return undefined
      case 'job_offer':
      case 'job_ack':
      case 'job_poll_end':
        return this.#onJob(frame)
      case 'hello':
      case 'response':
      case 'job_state':
      case 'job_records':
      case 'job_poll':
        return this.#end('PROTOCOL_ERROR', `the cloud sent a ${frame.type.toUpperCase()} frame`, false)
    }
  }

  /** A frame that failed validation: it costs its own stream, or the session when on stream 0. */
  #onInvalid (frame: InvalidFrame): void {
    if (frame.stream === 0) return this.#end('PROTOCOL_ERROR', frame.message, false)
    const stream = this.#streams.get(frame.stream)
    if (stream !== undefined) return stream.fail('PROTOCOL_ERROR', frame.message)
    if (frame.of === 'request' && frame.stream > this.#lastStreamId && frame.stream % 2 === 1) {
      // A malformed call (e.g. an invalid header name from an API caller) is refused alone.
      this.#lastStreamId = frame.stream
      this.#writer.write({ type: 'reset', stream: frame.stream, code: 'BAD_REQUEST', message: frame.message })
      return
    }
    if (frame.stream > this.#lastStreamId) this.#end('PROTOCOL_ERROR', frame.message, false)
  }

  #stream (id: number): AgentStream | undefined {
    const stream = this.#streams.get(id)
    // Frames for a stream that already ended are expected (they crossed our RESET) and ignored;
    // frames for a stream never opened are a violation.
    if (stream === undefined && id > this.#lastStreamId) this.#end('PROTOCOL_ERROR', `frame for stream ${id}, which was never opened`, false)
    return stream
  }

  #onWelcome (welcome: WelcomeFrame): void {
    if (this.#context !== undefined) return this.#end('PROTOCOL_ERROR', 'a second WELCOME', false)
    if (!this.#options.hello.versions.includes(welcome.version)) {
      return this.#end('UNSUPPORTED_VERSION', `the cloud chose protocol version ${welcome.version}, which this agent does not speak`, false)
    }
    this.#writer.flush()
    const maxFrameBytes = dataPayloadLimit(welcome.limits)
    this.#writer = new FrameWriter(this.#send, welcome.limits.maxMessageBytes, maxFrameBytes)
    this.#context = {
      ...this.#options.streamContext,
      writer: this.#writer,
      sendWindow: welcome.limits.initialWindow,
      maxFrameBytes
    }
    this.#events.welcomed(welcome)
  }

  #onJob (frame: CloudJobFrame): void {
    if (this.#context === undefined) return this.#end('PROTOCOL_ERROR', `${frame.type.toUpperCase()} before WELCOME`, false)
    if (this.#options.jobs === undefined) {
      this.#writer.write({ type: 'error', code: 'PROTOCOL_ERROR', message: 'this bridge runs no sync jobs' })
      return
    }
    this.#options.jobs(frame)
  }

  #onRequest (frame: Parameters<AgentStream['accept']>[0]): void {
    if (this.#context === undefined) return this.#end('PROTOCOL_ERROR', 'REQUEST before WELCOME', false)
    if (frame.stream <= this.#lastStreamId || frame.stream % 2 === 0) {
      return this.#end('PROTOCOL_ERROR', `REQUEST on stream ${frame.stream}: ids must be odd and increasing`, false)
    }
    this.#lastStreamId = frame.stream
    if (this.#draining) {
      this.#writer.write({ type: 'reset', stream: frame.stream, code: 'DRAINING', message: 'the bridge is draining' })
      return
    }
    if (this.#streams.size >= this.#options.limits.maxStreams) {
      this.#writer.write({ type: 'reset', stream: frame.stream, code: 'TOO_MANY_STREAMS', message: `the bridge runs at most ${this.#options.limits.maxStreams} calls at once` })
      return
    }
    const stream = new AgentStream(frame.stream, this.#context, this)
    this.#streams.set(frame.stream, stream)
    stream.accept(frame)
    this.#starts.push(stream)
  }

  #end (code: ErrorCode, message: string, byPeer: boolean): void {
    if (this.#ended) return
    if (!byPeer) {
      this.#writer.write({ type: 'goaway', code, message })
      this.#writer.flush()
    }
    if (byPeer && code === 'SHUTDOWN') {
      // The cloud is going away in an orderly way; in-flight calls may still finish.
      this.#draining = true
    }
    this.#events.ended(code, message, byPeer)
  }
}
