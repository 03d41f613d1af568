/**
 * What the agent and the cloud said while under load. They run at `--log-level warn`, so every
 * line they print is a warning or worse: each is counted and the first few are kept verbatim.
 */
import type { BenchChild } from './processes.js'

/** Lines kept verbatim per process. */
const SAMPLES = 5

/** The warnings and errors one process logged. */
export interface ProductLog {
  lines: number
  /** Count per pino `msg` (or the raw line when it is not JSON). */
  readonly byMessage: Record<string, number>
  readonly samples: string[]
}

function messageOf (line: string): string {
  try {
    const parsed = JSON.parse(line) as { msg?: unknown }
    return typeof parsed.msg === 'string' ? parsed.msg : line
  } catch {
    return line
  }
}

/** Starts collecting `child`'s output lines; the returned object fills in as they come. */
export function collectProductLog (child: BenchChild): ProductLog {
  const log: ProductLog = { lines: 0, byMessage: {}, samples: [] }
  child.onLine((line) => {
    if (line.trim() === '' || /^listening on /.test(line)) return
    log.lines++
    const msg = messageOf(line)
    log.byMessage[msg] = (log.byMessage[msg] ?? 0) + 1
    if (log.samples.length < SAMPLES) log.samples.push(line)
  })
  return log
}
