/**
 * The measurements, interleaved round by round: in each round every path gets the same
 * sequence (64 connections, 1 connection, download, upload), and the order of the paths
 * rotates from round to round so no path always runs first on a cold or busy machine.
 */
import { treeCpuMs } from './cpu.js'
import { runLoad } from './load.js'
import type { LoadGenerator, LoadResult } from './load.js'
import type { BenchPath, PathName } from './paths.js'
import { MIB, download, upload, uploadSha256 } from './streaming.js'
import type { TransferResult } from './streaming.js'

/** Connections for the throughput run and for the latency run. */
export const THROUGHPUT_CONNECTIONS = 64
export const LATENCY_CONNECTIONS = 1
/** A transfer slower than this is treated as stalled, in MiB/s (it sets the timeouts). */
const SLOWEST_TRANSFER = 5
const WARM_UP_SECONDS = 5
/**
 * Bytes sent each way to warm a path up. A fresh agent and cloud take about this much before
 * their transfers reach speed (JIT, first touch of memory): the first two 64 MiB uploads ran at
 * about 200 MiB/s, the later ones at 400-550 (BENCHMARKS.md).
 */
const WARM_UP_BYTES = 128 * MIB

/** CPU used by the agent side and the cloud side during the 64-connection run. */
export interface CpuUse {
  /** Share of one core, in percent. */
  readonly agentPct: number
  readonly cloudPct: number
  /** CPU time per request, in microseconds. */
  readonly agentUsPerRequest: number
  readonly cloudUsPerRequest: number
}

/** What one path measured in one round; a measurement that failed is undefined, its reason in `failures`. */
export interface PathRound {
  readonly round: number
  readonly path: PathName
  throughput?: LoadResult
  throughputCpu?: CpuUse
  latency?: LoadResult
  download?: TransferResult
  upload?: TransferResult
  readonly failures: string[]
}

/** How much to measure. */
export interface MeasureOptions {
  readonly rounds: number
  /** Length of each load run, in seconds. */
  readonly durationSec: number
  readonly downloadBytes: number
  readonly uploadBytes: number
  readonly generator: LoadGenerator
  /** Progress lines for the console. */
  readonly log: (line: string) => void
  /** Stops between measurements once aborted (Ctrl-C). */
  readonly signal: AbortSignal
}

function transferTimeout (bytes: number): number {
  return Math.ceil((bytes / MIB / SLOWEST_TRANSFER) * 1000)
}

function message (err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

/** Runs `step`, storing a failure instead of throwing. */
async function attempt<T> (what: string, failures: string[], step: () => Promise<T>): Promise<T | undefined> {
  try {
    return await step()
  } catch (err) {
    failures.push(`${what}: ${message(err)}`)
    return undefined
  }
}

/** A short load, a download and an upload on every path, so JIT, memory and connection pools are warm. */
export async function warmUp (paths: readonly BenchPath[], options: MeasureOptions): Promise<void> {
  const sha256 = uploadSha256(WARM_UP_BYTES)
  for (const path of paths) {
    if (options.signal.aborted) return
    await runLoad(options.generator, `${path.baseUrl}/hello`, THROUGHPUT_CONNECTIONS, WARM_UP_SECONDS)
    await download(`${path.baseUrl}/bytes?n=${WARM_UP_BYTES}`, WARM_UP_BYTES, { timeoutMs: transferTimeout(WARM_UP_BYTES) })
    await upload(`${path.baseUrl}/sha256`, WARM_UP_BYTES, sha256, transferTimeout(WARM_UP_BYTES))
  }
}

async function measurePath (path: BenchPath, round: number, options: MeasureOptions, sha256: string): Promise<PathRound> {
  const failures: string[] = []
  const hello = `${path.baseUrl}/hello`
  const result: PathRound = { round, path: path.name, failures }
  const cpuBefore = cpuSnapshot(path)
  result.throughput = await attempt('64 connections', failures, () => runLoad(options.generator, hello, THROUGHPUT_CONNECTIONS, options.durationSec))
  result.throughputCpu = cpuUse(path, cpuBefore, result.throughput)
  result.latency = await attempt('1 connection', failures, () => runLoad(options.generator, hello, LATENCY_CONNECTIONS, options.durationSec))
  result.download = await attempt('download', failures, () => download(`${path.baseUrl}/bytes?n=${options.downloadBytes}`, options.downloadBytes, { timeoutMs: transferTimeout(options.downloadBytes) }))
  result.upload = await attempt('upload', failures, () => upload(`${path.baseUrl}/sha256`, options.uploadBytes, sha256, transferTimeout(options.uploadBytes)))
  for (const load of [result.throughput, result.latency]) {
    if (load !== undefined && load.errors + load.non2xx > 0) failures.push(`load: ${load.errors} socket errors, ${load.non2xx} non-2xx responses`)
  }
  return result
}

interface CpuSnapshot { readonly agentMs: number, readonly cloudMs: number, readonly at: number }

function cpuSnapshot (path: BenchPath): CpuSnapshot | undefined {
  if (path.agentPid === undefined || path.cloudPid === undefined) return undefined
  return { agentMs: treeCpuMs(path.agentPid), cloudMs: treeCpuMs(path.cloudPid), at: performance.now() }
}

function cpuUse (path: BenchPath, before: CpuSnapshot | undefined, load: LoadResult | undefined): CpuUse | undefined {
  const after = cpuSnapshot(path)
  if (before === undefined || after === undefined || load === undefined || load.requests === 0) return undefined
  const wallMs = after.at - before.at
  const agentMs = after.agentMs - before.agentMs
  const cloudMs = after.cloudMs - before.cloudMs
  return {
    agentPct: (agentMs / wallMs) * 100,
    cloudPct: (cloudMs / wallMs) * 100,
    agentUsPerRequest: (agentMs * 1000) / load.requests,
    cloudUsPerRequest: (cloudMs * 1000) / load.requests
  }
}

function oneLine (r: PathRound): string {
  const fmt = (n: number | undefined, digits = 0): string => n === undefined ? 'failed' : n.toFixed(digits)
  return `round ${r.round} ${r.path.padEnd(9)} ${fmt(r.throughput?.requestsPerSec)} req/s, p50 ${fmt(r.latency?.p50Ms, 2)} ms, ` +
    `p99 ${fmt(r.latency?.p99Ms, 2)} ms (@64: ${fmt(r.throughput?.p99Ms, 1)} ms), ` +
    `down ${fmt(r.download?.mibPerSec)} MiB/s, up ${fmt(r.upload?.mibPerSec)} MiB/s` +
    (r.throughputCpu === undefined ? '' : `, CPU @64 agent ${fmt(r.throughputCpu.agentPct)}% cloud ${fmt(r.throughputCpu.cloudPct)}%`) +
    (r.failures.length > 0 ? `\n  ! ${r.failures.join('\n  ! ')}` : '')
}

/** Measures every path `options.rounds` times, interleaved, and returns every round's figures. */
export async function measureRounds (paths: readonly BenchPath[], options: MeasureOptions): Promise<PathRound[]> {
  const sha256 = uploadSha256(options.uploadBytes)
  const results: PathRound[] = []
  for (let round = 1; round <= options.rounds; round++) {
    const shift = (round - 1) % paths.length
    const order = [...paths.slice(shift), ...paths.slice(0, shift)]
    for (const path of order) {
      if (options.signal.aborted) return results
      const result = await measurePath(path, round, options, sha256)
      options.log(oneLine(result))
      results.push(result)
    }
  }
  return results
}
