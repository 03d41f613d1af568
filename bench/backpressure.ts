/**
 * Backpressure: a large download through outbridge read by a client throttled well below what
 * the tunnel can carry. When flow control works, the agent and the cloud hold a bounded amount
 * of data, so their resident memory stays flat however large the body is.
 */
import type { BenchPath } from './paths.js'
import { treeRss, watchRss } from './rss.js'
import type { RssRange, RssWatch } from './rss.js'
import { MIB, download } from './streaming.js'

/** Memory growth after the warm-up part of the transfer that still counts as flat, in bytes. */
export const FLAT_LIMIT = 64 * MIB
/** The first part of the transfer (buffers filling up) is left out of the steady-state range. */
const WARM_UP_FRACTION = 0.1
const SAMPLE_INTERVAL = 250
const TIMELINE_STEP = 10
/** Slack on the expected duration before the transfer counts as stalled. */
const TIMEOUT_FACTOR = 2
const TIMEOUT_SLACK = 30_000

/** Memory of one process during the transfer, in MiB. */
export interface RssSummary {
  /** Over the whole transfer. */
  readonly minMiB: number
  readonly maxMiB: number
  /** max - min after the first {@link WARM_UP_FRACTION} of the bytes. */
  readonly steadySpreadMiB: number
}

/** Resident memory at one point of the transfer, in MiB. */
export interface RssPoint {
  /** Share of the body received, in percent. */
  readonly percent: number
  readonly agentMiB: number
  readonly cloudMiB: number
}

/** The outcome of {@link measureBackpressure}. */
export interface BackpressureResult {
  readonly bytes: number
  readonly rateMiBs: number
  readonly seconds?: number
  /** The rate the throttled reader achieved, in MiB/s. */
  readonly achievedMiBs?: number
  readonly agent?: RssSummary
  readonly cloud?: RssSummary
  /** Memory at every {@link TIMELINE_STEP} percent of the body. */
  readonly timeline: readonly RssPoint[]
  /** Both stayed within {@link FLAT_LIMIT} after the warm-up. */
  readonly flat: boolean
  readonly error?: string
}

function summary (all: RssRange | undefined, steady: RssRange | undefined): RssSummary | undefined {
  if (all === undefined || steady === undefined || all.samples === 0) return undefined
  const mib = (n: number): number => Math.round((n / MIB) * 10) / 10
  return { minMiB: mib(all.min), maxMiB: mib(all.max), steadySpreadMiB: mib(steady.samples === 0 ? 0 : steady.max - steady.min) }
}

/** Downloads `bytes` through `path` (the outbridge path) at `rateBytesPerSec`, sampling agent and cloud RSS. */
export async function measureBackpressure (path: BenchPath, bytes: number, rateBytesPerSec: number): Promise<BackpressureResult> {
  if (path.agentPid === undefined || path.cloudPid === undefined) throw new Error(`${path.name} has no agent and cloud to watch`)
  const pids = { agent: path.agentPid, cloud: path.cloudPid }
  const whole = watchRss(pids, SAMPLE_INTERVAL)
  let steady: RssWatch | undefined
  const timeline: RssPoint[] = []
  const mib = (n: number): number => Math.round((n / MIB) * 10) / 10
  function onProgress (received: number): void {
    if (steady === undefined && received >= bytes * WARM_UP_FRACTION) steady = watchRss(pids, SAMPLE_INTERVAL)
    const percent = (timeline.length + 1) * TIMELINE_STEP
    if (received >= (bytes * percent) / 100) timeline.push({ percent, agentMiB: mib(treeRss(pids.agent)), cloudMiB: mib(treeRss(pids.cloud)) })
  }
  const timeoutMs = (bytes / rateBytesPerSec) * 1000 * TIMEOUT_FACTOR + TIMEOUT_SLACK
  const base = { bytes, rateMiBs: rateBytesPerSec / MIB, timeline }
  try {
    const transfer = await download(`${path.baseUrl}/bytes?n=${bytes}`, bytes, { rateBytesPerSec, timeoutMs, onProgress })
    const all = whole.stop()
    const late = steady?.stop() ?? {}
    const agent = summary(all.agent, late.agent)
    const cloud = summary(all.cloud, late.cloud)
    const flat = agent !== undefined && cloud !== undefined && Math.max(agent.steadySpreadMiB, cloud.steadySpreadMiB) * MIB <= FLAT_LIMIT
    return { ...base, seconds: transfer.seconds, achievedMiBs: transfer.mibPerSec, agent, cloud, flat }
  } catch (err) {
    const all = whole.stop()
    const late = steady?.stop() ?? {}
    return {
      ...base,
      agent: summary(all.agent, late.agent),
      cloud: summary(all.cloud, late.cloud),
      flat: false,
      error: err instanceof Error ? err.message : String(err)
    }
  }
}
