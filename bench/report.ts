/**
 * The bench's output: one table for people (figures per path, then each figure's ratio to the
 * direct path and to the ssh tunnel) and the same as JSON for tools.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import type { BackpressureResult } from './backpressure.js'
import type { LoadGeneratorKind } from './load.js'
import type { PathRound } from './measure.js'
import type { PathName } from './paths.js'
import type { ProductLog } from './product-log.js'
import { FIGURE_NAMES } from './summary.js'
import type { FigureName, Figures, PathSummary, TargetCheck } from './summary.js'

/** Everything one run found; `bench/results/latest.json` holds exactly this. */
export interface BenchReport {
  /** ISO 8601 start time. */
  readonly date: string
  readonly machine: {
    readonly nproc: number
    readonly memTotalGiB: number
    readonly cpu: string
    readonly node: string
    readonly kernel: string
    /** 1, 5 and 15 minute load averages at the start and at the end: the machine is shared, so this tells how noisy the run was. */
    readonly loadAverageStart: readonly number[]
    readonly loadAverageEnd: readonly number[]
  }
  readonly settings: {
    readonly loadGenerator: LoadGeneratorKind
    readonly rounds: number
    readonly durationSec: number
    readonly connections: { readonly throughput: number, readonly latency: number }
    readonly downloadBytes: number
    readonly uploadBytes: number
    readonly sshCipher: string
  }
  readonly summary: readonly PathSummary[]
  readonly targets: readonly TargetCheck[]
  readonly skipped: Partial<Record<PathName, string>>
  readonly backpressure?: BackpressureResult
  readonly productLog: { readonly agent: ProductLog, readonly cloud: ProductLog }
  readonly rounds: readonly PathRound[]
  readonly elapsedSec: number
}

const HEADERS: Readonly<Record<FigureName, string>> = {
  reqPerSec: 'req/s @64',
  p50Ms: 'p50 ms @1',
  p99Ms: 'p99 ms @1',
  p99At64Ms: 'p99 ms @64',
  downloadMiBs: 'down MiB/s',
  uploadMiBs: 'up MiB/s',
  agentRssMiB: 'RSS agent MiB',
  cloudRssMiB: 'RSS cloud MiB'
}

function value (name: FigureName, n: number | undefined): string {
  if (n === undefined) return '-'
  if (name === 'p50Ms' || name === 'p99Ms') return n.toFixed(2)
  if (name === 'p99At64Ms') return n.toFixed(1)
  return Math.round(n).toLocaleString('en-US')
}

function ratio (n: number | undefined): string {
  return n === undefined ? '-' : `${n.toFixed(2)}x`
}

function row (cells: readonly string[], widths: readonly number[]): string {
  return `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join(' | ')} |`
}

function ratioRow (label: string, ratios: Figures | undefined, extra?: string): string[] | undefined {
  if (ratios === undefined || Object.keys(ratios).length === 0) return undefined
  return [label, ...FIGURE_NAMES.map((name) => ratio(ratios[name]) + (name === 'p50Ms' && extra !== undefined ? ` ${extra}` : ''))]
}

/** The table as markdown-compatible text, one row per path and one per ratio. */
export function formatTable (summary: readonly PathSummary[]): string {
  const rows: string[][] = []
  for (const path of summary) {
    rows.push([path.name, ...FIGURE_NAMES.map((name) => value(name, path.figures[name]))])
    const added = path.p50AddedMs === undefined ? undefined : `(${path.p50AddedMs >= 0 ? '+' : ''}${path.p50AddedMs.toFixed(2)} ms)`
    const vsDirect = ratioRow('  / direct', path.vsDirect, added)
    const vsSsh = ratioRow('  / ssh -R', path.vsSsh)
    if (vsDirect !== undefined) rows.push(vsDirect)
    if (vsSsh !== undefined) rows.push(vsSsh)
  }
  const header = ['path', ...FIGURE_NAMES.map((name) => HEADERS[name])]
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const rule = `|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`
  return [row(header, widths), rule, ...rows.map((r) => row(r, widths))].join('\n')
}

/** The lines after the table: targets, backpressure, skipped paths, failures, product logs. */
export function formatNotes (report: BenchReport): string {
  const lines: string[] = []
  for (const p of report.summary) {
    const c = p.cpuAt64
    if (p.rssStartMiB !== undefined && p.figures.agentRssMiB !== undefined && p.figures.cloudRssMiB !== undefined) {
      lines.push(`RSS, ${p.name}: agent side ${p.rssStartMiB.agent.toFixed(0)} MiB at start, ${p.figures.agentRssMiB.toFixed(0)} MiB peak; ` +
        `cloud side ${p.rssStartMiB.cloud.toFixed(0)} MiB at start, ${p.figures.cloudRssMiB.toFixed(0)} MiB peak`)
    }
    if (c !== undefined) {
      lines.push(`CPU at 64 connections, ${p.name}: agent side ${c.agentPct.toFixed(0)}% of a core (${c.agentUsPerRequest.toFixed(0)} us/request), ` +
        `cloud side ${c.cloudPct.toFixed(0)}% (${c.cloudUsPerRequest.toFixed(0)} us/request)`)
    }
  }
  for (const t of report.targets) lines.push(`target ${t.met ? 'met    ' : 'NOT met'}: ${t.target} (outbridge ${t.outbridge.toFixed(2)}, limit ${t.limit.toFixed(2)})`)
  const bp = report.backpressure
  if (bp !== undefined) {
    const rss = (s: BackpressureResult['agent']): string => s === undefined ? '?' : `${s.minMiB}-${s.maxMiB} MiB (spread ${s.steadySpreadMiB} MiB after warm-up)`
    lines.push(`backpressure: ${bp.bytes / 1024 / 1024} MiB at ${bp.rateMiBs} MiB/s through outbridge` +
      (bp.achievedMiBs === undefined ? '' : ` (read at ${bp.achievedMiBs.toFixed(1)} MiB/s in ${bp.seconds?.toFixed(1)} s)`) +
      `: agent ${rss(bp.agent)}; cloud ${rss(bp.cloud)} -> ${bp.flat ? 'flat' : 'NOT flat'}` +
      (bp.error === undefined ? '' : `; failed: ${bp.error}`))
    lines.push(`  RSS agent/cloud MiB at ${bp.timeline.map((p) => `${p.percent}%: ${p.agentMiB}/${p.cloudMiB}`).join(', ')}`)
  }
  for (const [path, reason] of Object.entries(report.skipped)) lines.push(`skipped ${path}: ${reason}`)
  for (const r of report.rounds) for (const f of r.failures) lines.push(`failure in round ${r.round}, ${r.path}: ${f}`)
  for (const [side, log] of Object.entries(report.productLog)) {
    if (log.lines > 0) lines.push(`${side} logged ${log.lines} warning/error lines: ${JSON.stringify(log.byMessage)}`)
  }
  return lines.join('\n')
}

/** Writes `report` as indented JSON to `file`, creating its directory. */
export function writeReport (file: string, report: BenchReport): void {
  mkdirSync(dirname(file), { recursive: true })
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`)
}
