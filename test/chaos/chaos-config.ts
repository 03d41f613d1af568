/**
 * Sizes of the chaos cases. `OUTBRIDGE_CHAOS=full` (set by `npm run test:chaos`) runs the sizes
 * RELIABILITY.md reports; anything else runs the scaled-down sizes that fit `npm test` (all
 * chaos files together in about a minute on two cores). The pass criteria are the same at both
 * sizes; only the counts, durations and byte totals shrink.
 */

/** True when the full sizes run. */
export const FULL: boolean = process.env.OUTBRIDGE_CHAOS === 'full'

const MiB = 1024 * 1024

/** One size per case: `[scaled, full]`. */
function pick<T> (scaled: T, full: T): T {
  return FULL ? full : scaled
}

/** The sizes in force for this run. */
export const SCALE = Object.freeze({
  /** Streams in flight when the cloud is killed, closed, reset or frozen. */
  faultStreams: pick(20, 100),
  /** Calls in flight when the link is black-holed. */
  blackholeStreams: pick(10, 100),
  /** How long the cloud stays unreachable, in ms. */
  outageMs: pick(8_000, 60_000),
  /** Bytes moved each way through the throttled readers. */
  transferBytes: pick(24 * MiB, 1024 * MiB),
  /** The readers' throttle, in bytes per second. */
  transferRate: pick(4 * MiB, 1 * MiB),
  /** Small calls per head-of-line batch (the same at both sizes: the case is about latency). */
  smallCalls: 100,
  /** Concurrent 1 KiB calls. */
  manyCalls: pick(1_000, 10_000),
  /** `--max-streams` of the agent that must refuse calls past its limit. */
  smallStreamLimit: pick(100, 1_000),
  /** Bridges connecting at once, and the processes they run in. */
  agents: pick(30, 1_000),
  swarmProcesses: pick(2, 4),
  /** Reconnect cycles and calls of the soak. */
  soakCycles: pick(10, 1_000),
  soakCalls: pick(2_000, 100_000),
  /** Of the soak's reconnect cycles, how many are abrupt (RST) rather than token renewals. */
  soakResets: pick(2, 10)
})

/** Heartbeat period of both sides in every chaos case, in ms. */
export const HEARTBEAT_MS = 500

/** A peer silent this long is dead (two heartbeat periods; agent/bridge.ts, mock-cloud/bridge-session.ts), in ms. */
export const DEAD_AFTER_MS = 2 * HEARTBEAT_MS

/** Flags of every chaos cloud. */
export const CLOUD_ARGS: readonly string[] = Object.freeze(['--heartbeat-interval', String(HEARTBEAT_MS)])

/**
 * Flags of every chaos agent: short heartbeats, a short handshake timeout (an attempt into a
 * frozen cloud gives up after 1 s), and `info` logs, whose `connected` lines the harness waits on.
 * The reconnect backoff has no flag; it starts at 250 ms (agent/backoff.ts).
 */
export const AGENT_ARGS: readonly string[] = Object.freeze(['--heartbeat-interval', String(HEARTBEAT_MS), '--handshake-timeout', '1000'])

/** Per-test timeout: generous at full size, where a case may run for many minutes, in ms. */
export function caseTimeout (scaledMs: number, fullMs: number): number {
  return pick(scaledMs, fullMs)
}
