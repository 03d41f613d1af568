/**
 * The HTTP load generator: Debian's `wrk` when installed (one thread, the least CPU on two
 * cores), else `autocannon`. Both run as separate processes; their output is parsed here.
 */
import { accessSync, constants } from 'node:fs'
import { delimiter, join } from 'node:path'
import { runToEnd } from './processes.js'

/** Which load generator drives the small-request load. */
export type LoadGeneratorKind = 'wrk' | 'autocannon'

/** A load generator found on this machine. */
export interface LoadGenerator {
  readonly kind: LoadGeneratorKind
  /** Absolute path of the executable. */
  readonly command: string
}

/** What one load run measured. */
export interface LoadResult {
  readonly requestsPerSec: number
  /** Latency percentiles, in ms. */
  readonly p50Ms: number
  readonly p99Ms: number
  /** Responses counted. */
  readonly requests: number
  /** Socket errors and timeouts. */
  readonly errors: number
  /** Responses whose status was not 2xx or 3xx. */
  readonly non2xx: number
}

/** Extra time a load run may take beyond its duration before it is killed, in ms. */
const RUN_GRACE = 15_000

function executable (path: string): boolean {
  try {
    accessSync(path, constants.X_OK)
    return true
  } catch {
    return false
  }
}

function onPath (name: string, extraDirs: readonly string[]): string | undefined {
  const dirs = [...extraDirs, ...(process.env.PATH ?? '').split(delimiter).filter(Boolean)]
  return dirs.map((dir) => join(dir, name)).find(executable)
}

/**
 * Finds `wrk` on PATH, else `autocannon` in the repository's `node_modules/.bin` or on PATH.
 * @param only look for this one alone
 */
export function findLoadGenerator (repoRoot: string, only?: LoadGeneratorKind): LoadGenerator | undefined {
  const kinds: LoadGeneratorKind[] = only === undefined ? ['wrk', 'autocannon'] : [only]
  for (const kind of kinds) {
    const command = onPath(kind, kind === 'autocannon' ? [join(repoRoot, 'node_modules', '.bin')] : [])
    if (command !== undefined) return { kind, command }
  }
  return undefined
}

/** Drives `url` with `connections` keep-alive connections for `durationSec` seconds. */
export async function runLoad (generator: LoadGenerator, url: string, connections: number, durationSec: number): Promise<LoadResult> {
  const timeout = durationSec * 1000 + RUN_GRACE
  if (generator.kind === 'wrk') {
    const out = await runToEnd(generator.command, ['-t1', `-c${connections}`, `-d${durationSec}s`, '--latency', url], timeout)
    return parseWrk(out)
  }
  const out = await runToEnd(generator.command, ['--json', '-c', String(connections), '-d', String(durationSec), url], timeout)
  return parseAutocannon(out)
}

const TIME_UNITS: Readonly<Record<string, number>> = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 }

/** `52.00us`, `1.23ms`, `2.00s` as ms. */
function wrkTime (text: string): number {
  const match = text.match(/^([\d.]+)(us|ms|s|m|h)$/)
  const unit = match === null ? undefined : TIME_UNITS[match[2] ?? '']
  if (match === null || unit === undefined) throw new Error(`wrk: unreadable time ${JSON.stringify(text)}`)
  return Number(match[1]) * unit
}

function wrkNumber (out: string, pattern: RegExp, what: string): string {
  const match = out.match(pattern)
  if (match?.[1] === undefined) throw new Error(`wrk: no ${what} in its output:\n${out}`)
  return match[1]
}

/** Reads the report `wrk --latency` prints. */
export function parseWrk (out: string): LoadResult {
  const socketErrors = out.match(/Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/)
  const errors = socketErrors === null ? 0 : socketErrors.slice(1, 5).reduce((sum, n) => sum + Number(n), 0)
  const non2xx = out.match(/Non-2xx or 3xx responses: (\d+)/)
  return {
    requestsPerSec: Number(wrkNumber(out, /Requests\/sec:\s+([\d.]+)/, 'Requests/sec')),
    p50Ms: wrkTime(wrkNumber(out, /^\s+50(?:\.000)?%\s+(\S+)/m, '50% latency')),
    p99Ms: wrkTime(wrkNumber(out, /^\s+99(?:\.000)?%\s+(\S+)/m, '99% latency')),
    requests: Number(wrkNumber(out, /(\d+) requests in /, 'request count')),
    errors,
    non2xx: non2xx === null ? 0 : Number(non2xx[1])
  }
}

interface AutocannonJson {
  requests: { average: number, total: number }
  latency: { p50: number, p99: number }
  errors: number
  timeouts: number
  non2xx: number
}

function isAutocannonJson (value: unknown): value is AutocannonJson {
  if (typeof value !== 'object' || value === null) return false
  const v = value as Partial<Record<keyof AutocannonJson, unknown>>
  const requests = v.requests as { average?: unknown } | undefined
  const latency = v.latency as { p50?: unknown, p99?: unknown } | undefined
  return typeof requests?.average === 'number' && typeof latency?.p50 === 'number' && typeof latency.p99 === 'number'
}

/** Reads the JSON `autocannon --json` prints. */
export function parseAutocannon (out: string): LoadResult {
  const parsed: unknown = JSON.parse(out.trim().split('\n').at(-1) ?? '')
  if (!isAutocannonJson(parsed)) throw new Error(`autocannon: unexpected JSON:\n${out}`)
  return {
    requestsPerSec: parsed.requests.average,
    p50Ms: parsed.latency.p50,
    p99Ms: parsed.latency.p99,
    requests: parsed.requests.total,
    errors: (parsed.errors ?? 0) + (parsed.timeouts ?? 0),
    non2xx: parsed.non2xx ?? 0
  }
}
