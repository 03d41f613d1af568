/**
 * The frames of the outbridge wire protocol, version 1. PROTOCOL.md is the prose of this file.
 *
 * Every WebSocket binary message carries one or more frames back to back. A frame is a fixed
 * 10-byte header followed by `length` payload bytes:
 *
 *   offset 0  u8   type     (FRAME_TYPE)
 *   offset 1  u8   flags    (FLAG_END_STREAM; other bits reserved, sent as 0, ignored)
 *   offset 2  u32  stream   big-endian; 0 = the connection itself
 *   offset 6  u32  length   big-endian payload length
 *
 * DATA payloads are raw body bytes; WINDOW, PING and PONG payloads are fixed binary; every
 * other payload is one MessagePack map (the "head") whose fields are listed below.
 */

import type { ErrorCode } from './errors.js'
import type { JobFrame } from './job-frames.js'

export const HEADER_BYTES = 10

export const FRAME_TYPE = Object.freeze({
  hello: 0x01,
  welcome: 0x02,
  request: 0x03,
  response: 0x04,
  data: 0x05,
  reset: 0x06,
  window: 0x07,
  ping: 0x08,
  pong: 0x09,
  goaway: 0x0a,
  error: 0x0b,
  // Sync jobs (job-frames.ts): stream 0, MessagePack head.
  job_offer: 0x10,
  job_state: 0x11,
  job_records: 0x12,
  job_ack: 0x13,
  job_poll: 0x14,
  job_poll_end: 0x15
} as const)

export type FrameTypeName = keyof typeof FRAME_TYPE

/** Set on REQUEST, RESPONSE and DATA: the sender will send nothing more on this stream. */
export const FLAG_END_STREAM = 0x01

/** Headers travel as a flat list: [name, value, name, value, ...]; names lower-case. */
export type HeaderList = string[]

/** Limits a peer announces for what it is willing to receive. */
export interface PeerLimits {
  /** Largest WebSocket message the peer accepts, in bytes. */
  readonly maxMessageBytes: number
  /** Largest single frame payload, in bytes. */
  readonly maxFrameBytes: number
  /** Credit every new stream starts with for DATA sent to this peer, in bytes. */
  readonly initialWindow: number
  /** Max streams open at once that this peer accepts. */
  readonly maxStreams: number
  /** Max body per direction, in bytes. */
  readonly maxBodyBytes: number
}

/** Agent -> cloud, first frame of a session (stream 0). */
export interface HelloFrame {
  readonly type: 'hello'
  /** Protocol versions the agent speaks, any order. */
  readonly versions: readonly number[]
  /** Bridge name (display and `bridge` selector). */
  readonly name: string
  /** Agent software version, e.g. "0.1.0". */
  readonly agent: string
  /** Optional features, e.g. "jobs". Unknown names are ignored. */
  readonly capabilities: readonly string[]
  readonly limits: PeerLimits
}

/** Cloud -> agent, answer to HELLO (stream 0). */
export interface WelcomeFrame {
  readonly type: 'welcome'
  /** The chosen version, one of HELLO.versions. */
  readonly version: number
  /** Opaque session id, for logs on both sides. */
  readonly session: string
  /** Heartbeat period the cloud uses, in ms (informational: each side pings at its own period). */
  readonly heartbeatMs: number
  readonly limits: PeerLimits
}

/** Cloud -> agent: open stream `stream` with an HTTP request. */
export interface RequestFrame {
  readonly type: 'request'
  readonly stream: number
  /** No request body follows. */
  readonly end: boolean
  readonly method: string
  /** Absolute http(s) URL of the private target. */
  readonly url: string
  readonly headers: HeaderList
  /** Whole-call timeout in ms; 0 = the agent's default. */
  readonly timeoutMs: number
  /** Name of a credential stored on the bridge, to add as a header there. */
  readonly credential?: string
  /** Follow redirects on the bridge (each hop checked against its rules). */
  readonly followRedirects?: boolean
}

/** Agent -> cloud: the target's response head. */
export interface ResponseFrame {
  readonly type: 'response'
  readonly stream: number
  /** No response body follows. */
  readonly end: boolean
  readonly status: number
  readonly headers: HeaderList
}

/** Body bytes, either direction. Counts against the receiver's window. */
export interface DataFrame {
  readonly type: 'data'
  readonly stream: number
  readonly end: boolean
  readonly chunk: Uint8Array
}

/** Either direction: the stream is over, abnormally. */
export interface ResetFrame {
  readonly type: 'reset'
  readonly stream: number
  readonly code: ErrorCode
  readonly message: string
}

/** Either direction: the sender may send `increment` more DATA bytes on `stream`. */
export interface WindowFrame {
  readonly type: 'window'
  readonly stream: number
  readonly increment: number
}

/** Either direction, stream 0: liveness and round-trip time. 8 opaque bytes, echoed in PONG. */
export interface PingFrame { readonly type: 'ping', readonly data: Uint8Array }
export interface PongFrame { readonly type: 'pong', readonly data: Uint8Array }

/**
 * Either direction, stream 0: the sender opens or accepts no new streams; in-flight ones finish.
 * Agent -> cloud `DRAINING` on shutdown; cloud -> agent `SHUTDOWN` before it closes.
 */
export interface GoawayFrame {
  readonly type: 'goaway'
  readonly code: ErrorCode
  readonly message: string
}

/** Either direction, stream 0: a connection-level complaint (e.g. an unknown frame type). */
export interface ErrorFrame {
  readonly type: 'error'
  readonly code: ErrorCode
  readonly message: string
}

export type Frame =
  | HelloFrame | WelcomeFrame | RequestFrame | ResponseFrame | DataFrame | ResetFrame
  | WindowFrame | PingFrame | PongFrame | GoawayFrame | ErrorFrame | JobFrame

/** Frames that belong to a stream (stream id > 0). */
export type StreamFrame = RequestFrame | ResponseFrame | DataFrame | ResetFrame | WindowFrame
