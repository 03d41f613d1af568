/**
 * From rounds to one line per path: the median of each figure over the rounds, the peak memory
 * of the agent and cloud sides, each figure's ratio to the direct path and to the ssh tunnel,
 * and the targets of issue #7 checked against the ssh tunnel of the same run.
 */
import type { CpuUse, PathRound } from './measure.js'
import type { BenchPath, PathName } from './paths.js'
import type { RssRange } from './rss.js'
import { MIB } from './streaming.js'

/** One path's figures; a figure no round measured is left out. */
export interface Figures {
  /** Small requests per second at 64 connections. */
  reqPerSec?: number
  /** Latency at 1 connection, in ms. */
  p50Ms?: number
  p99Ms?: number
  /** p99 latency at 64 connections, in ms. */
  p99At64Ms?: number
  downloadMiBs?: number
  uploadMiBs?: number
  /** Peak resident memory of the agent side (outbridge agent, ssh client) and cloud side (mock cloud, sshd), in MiB. */
  agentRssMiB?: number
  cloudRssMiB?: number
}

export type FigureName = keyof Figures

/** The figures in table order. */
export const FIGURE_NAMES: readonly FigureName[] = ['reqPerSec', 'p50Ms', 'p99Ms', 'p99At64Ms', 'downloadMiBs', 'uploadMiBs', 'agentRssMiB', 'cloudRssMiB']

/** One path, summarized. Ratios are this path's figure divided by the reference path's. */
export interface PathSummary {
  readonly name: PathName
  readonly figures: Figures
  readonly vsDirect?: Figures
  readonly vsSsh?: Figures
  /** p50 at 1 connection minus the direct path's, in ms. */
  readonly p50AddedMs?: number
  /** CPU of the agent and cloud sides during the 64-connection runs (medians). */
  readonly cpuAt64?: CpuUse
  /** Resident memory of the agent and cloud sides before the first measurement, in MiB. */
  readonly rssStartMiB?: { readonly agent: number, readonly cloud: number }
  /** Failed measurements over all rounds. */
  readonly failures: number
}

/** One of issue #7's targets for outbridge, checked in this run. */
export interface TargetCheck {
  readonly target: string
  readonly outbridge: number
  readonly limit: number
  readonly met: boolean
}

/** Median of the defined values; undefined when there are none. */
export function median (values: ReadonlyArray<number | undefined>): number | undefined {
  const sorted = values.filter((v): v is number => v !== undefined).sort((a, b) => a - b)
  if (sorted.length === 0) return undefined
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid] : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2
}

function roundFigures (r: PathRound): Figures {
  return {
    reqPerSec: r.throughput?.requestsPerSec,
    p50Ms: r.latency?.p50Ms,
    p99Ms: r.latency?.p99Ms,
    p99At64Ms: r.throughput?.p99Ms,
    downloadMiBs: r.download?.mibPerSec,
    uploadMiBs: r.upload?.mibPerSec
  }
}

function ratios (figures: Figures, reference: Figures | undefined): Figures | undefined {
  if (reference === undefined) return undefined
  const out: Figures = {}
  for (const name of FIGURE_NAMES) {
    const value = figures[name]
    const ref = reference[name]
    if (value !== undefined && ref !== undefined && ref > 0) out[name] = value / ref
  }
  return out
}

/** The RSS watch key of a path's side. */
export function rssKey (path: PathName, side: 'agent' | 'cloud'): string {
  return `${path}:${side}`
}

function figuresOf (path: BenchPath, rounds: readonly PathRound[], peaks: Readonly<Record<string, RssRange>>): Figures {
  const mine = rounds.filter((r) => r.path === path.name).map(roundFigures)
  const figures: Figures = {}
  for (const name of FIGURE_NAMES) {
    const value = median(mine.map((f) => f[name]))
    if (value !== undefined) figures[name] = value
  }
  const agent = peaks[rssKey(path.name, 'agent')]
  const cloud = peaks[rssKey(path.name, 'cloud')]
  if (agent !== undefined && agent.samples > 0) figures.agentRssMiB = agent.max / MIB
  if (cloud !== undefined && cloud.samples > 0) figures.cloudRssMiB = cloud.max / MIB
  return figures
}

function medianCpu (uses: ReadonlyArray<CpuUse | undefined>): CpuUse | undefined {
  const defined = uses.filter((u): u is CpuUse => u !== undefined)
  if (defined.length === 0) return undefined
  const m = (pick: (u: CpuUse) => number): number => median(defined.map(pick)) ?? 0
  return { agentPct: m((u) => u.agentPct), cloudPct: m((u) => u.cloudPct), agentUsPerRequest: m((u) => u.agentUsPerRequest), cloudUsPerRequest: m((u) => u.cloudUsPerRequest) }
}

function rssStart (path: BenchPath, peaks: Readonly<Record<string, RssRange>>): PathSummary['rssStartMiB'] {
  const agent = peaks[rssKey(path.name, 'agent')]
  const cloud = peaks[rssKey(path.name, 'cloud')]
  if (agent === undefined || cloud === undefined || agent.samples === 0 || cloud.samples === 0) return undefined
  return { agent: agent.first / MIB, cloud: cloud.first / MIB }
}

/** One summary per path, in the order of `paths`. */
export function summarize (paths: readonly BenchPath[], rounds: readonly PathRound[], peaks: Readonly<Record<string, RssRange>>): PathSummary[] {
  const figures = new Map(paths.map((p) => [p.name, figuresOf(p, rounds, peaks)]))
  const direct = figures.get('direct')
  const ssh = figures.get('ssh -R')
  return paths.map((path) => {
    const mine = figures.get(path.name) ?? {}
    const ofPath = rounds.filter((r) => r.path === path.name)
    const failures = ofPath.reduce((n, r) => n + r.failures.length, 0)
    const p50AddedMs = mine.p50Ms !== undefined && direct?.p50Ms !== undefined ? mine.p50Ms - direct.p50Ms : undefined
    return {
      name: path.name,
      figures: mine,
      vsDirect: path.name === 'direct' ? undefined : ratios(mine, direct),
      vsSsh: path.name === 'ssh -R' ? undefined : ratios(mine, ssh),
      p50AddedMs: path.name === 'direct' ? undefined : p50AddedMs,
      cpuAt64: medianCpu(ofPath.map((r) => r.throughputCpu)),
      rssStartMiB: rssStart(path, peaks),
      failures
    }
  })
}

/** Issue #7's targets for outbridge against the ssh tunnel; empty when either was not measured. */
export function checkTargets (summaries: readonly PathSummary[]): TargetCheck[] {
  const ob = summaries.find((s) => s.name === 'outbridge')
  const ssh = summaries.find((s) => s.name === 'ssh -R')?.figures
  if (ob === undefined || ssh === undefined) return []
  const f = ob.figures
  const checks: TargetCheck[] = []
  function atLeast (target: string, value: number | undefined, limit: number | undefined): void {
    if (value !== undefined && limit !== undefined) checks.push({ target, outbridge: value, limit, met: value >= limit })
  }
  function atMost (target: string, value: number | undefined, limit: number | undefined): void {
    if (value !== undefined && limit !== undefined) checks.push({ target, outbridge: value, limit, met: value <= limit })
  }
  atLeast('small req/s >= ssh', f.reqPerSec, ssh.reqPerSec)
  atMost('p99 ms at 64 connections <= ssh', f.p99At64Ms, ssh.p99At64Ms)
  atMost('p50 ms added over direct at 1 connection <= 1', ob.p50AddedMs, 1)
  atLeast('download MiB/s >= ssh', f.downloadMiBs, ssh.downloadMiBs)
  atLeast('upload MiB/s >= ssh', f.uploadMiBs, ssh.uploadMiBs)
  return checks
}
