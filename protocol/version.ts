/**
 * Versioning. The WebSocket subprotocol names the envelope (`outbridge.v<N>`); HELLO/WELCOME
 * pick the version both sides speak. Inside a version, unknown fields are ignored and unknown
 * frame types are answered with an ERROR frame, so additions never need a new version.
 */
import type { PeerLimits } from './frames.js'

/** Versions this build speaks, newest first. */
export const PROTOCOL_VERSIONS: readonly number[] = Object.freeze([1])

/** WebSocket subprotocol for a version, e.g. `outbridge.v1`. */
export function subprotocolOf (version: number): string {
  return `outbridge.v${version}`
}

/** Version named by a subprotocol, or undefined when it is not one of ours. */
export function versionOfSubprotocol (name: string): number | undefined {
  const match = /^outbridge\.v([1-9][0-9]{0,3})$/.exec(name)
  return match === null ? undefined : Number(match[1])
}

/** The highest version both sides speak, or undefined. */
export function negotiateVersion (offered: readonly number[], supported: readonly number[] = PROTOCOL_VERSIONS): number | undefined {
  let best: number | undefined
  for (const v of offered) {
    if (supported.includes(v) && (best === undefined || v > best)) best = v
  }
  return best
}

/** WebSocket close codes used by outbridge (4000-4999 is the application range). */
export const CLOSE_CODE = Object.freeze({
  /** Normal end, e.g. after a drain. */
  normal: 1000,
  /** The peer is going away (shutdown). */
  goingAway: 1001,
  /** A protocol violation; the message says which. */
  protocolError: 1002,
  /** No version in common. */
  unsupportedVersion: 4002,
  /** The session's token expired; reconnect at once with a fresh one. */
  tokenExpired: 4003,
  /** Heartbeats stopped (a silent peer's socket is usually cut without a close frame: 1006). */
  heartbeatTimeout: 4008
} as const)

/** Room a message keeps beside one full DATA payload, for its frame header and others, in bytes. */
const MESSAGE_HEADROOM = 64

/** Largest DATA payload to send `peer`: its frame limit, leaving header room in one of its messages. */
export function dataPayloadLimit (peer: Pick<PeerLimits, 'maxFrameBytes' | 'maxMessageBytes'>): number {
  return Math.min(peer.maxFrameBytes, peer.maxMessageBytes - MESSAGE_HEADROOM)
}

/** Limits for a given message size: frames fill a message less its header room. */
export function limitsFor (maxMessageBytes: number, base: PeerLimits = DEFAULT_LIMITS): PeerLimits {
  return { ...base, maxMessageBytes, maxFrameBytes: dataPayloadLimit({ maxFrameBytes: base.maxFrameBytes, maxMessageBytes }) }
}

/** What each side is willing to receive unless configured otherwise. */
export const DEFAULT_LIMITS: PeerLimits = Object.freeze({
  maxMessageBytes: 1024 * 1024 + 4096,
  maxFrameBytes: 256 * 1024,
  // 4 MiB: on loopback a 512 KiB window held one bulk stream to about 150-190 MiB/s, 4 MiB to
  // 320-385 (2 MiB: 240-280; 8 MiB: no better). It bounds what one stalled stream pins, not memory
  // in use: only bytes a slow reader has not taken sit in buffers.
  initialWindow: 4 * 1024 * 1024,
  maxStreams: 1024,
  maxBodyBytes: 1024 * 1024 * 1024
})

/** Hard bounds on a head (the MessagePack part of a frame). */
export const HEAD_LIMITS = Object.freeze({
  /** Max bytes of one MessagePack head. */
  maxHeadBytes: 128 * 1024,
  /** Max nesting depth of a head. */
  maxDepth: 6,
  /** Max header pairs in REQUEST or RESPONSE. */
  maxHeaders: 256,
  /** Max URL length in characters. */
  maxUrlLength: 16 * 1024
})
