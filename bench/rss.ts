/**
 * Resident memory of the processes under test, read from /proc (Linux). A process is counted
 * with its descendants, since sshd serves each connection from a forked child.
 */
import { readFileSync } from 'node:fs'

/** Default sampling period, in ms. */
const DEFAULT_INTERVAL = 100

/** The smallest and largest resident set seen for one process tree, in bytes. */
export interface RssRange {
  /** The first sample. */
  first: number
  min: number
  max: number
  samples: number
}

/** A running sampler; `stop()` ends it and returns the range per watched name. */
export interface RssWatch {
  /** The ranges so far, per name. */
  read (): Record<string, RssRange>
  stop (): Record<string, RssRange>
}

/** A value from /proc/PID/status such as `VmRSS` or `VmHWM`, in bytes; 0 when the process is gone. */
export function procStatusBytes (pid: number, field: 'VmRSS' | 'VmHWM'): number {
  let text: string
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8')
  } catch {
    return 0
  }
  const match = text.match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'))
  return match === null ? 0 : Number(match[1]) * 1024
}

/** The pids of `pid`'s live children. */
export function childrenOf (pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number)
  } catch {
    return []
  }
}

/** VmRSS of `pid` plus all its descendants, in bytes. */
export function treeRss (pid: number): number {
  let total = procStatusBytes(pid, 'VmRSS')
  for (const child of childrenOf(pid)) total += treeRss(child)
  return total
}

/**
 * Samples {@link treeRss} of each named pid every `intervalMs` until stopped.
 * @param intervalMs @default 100
 */
export function watchRss (pids: Readonly<Record<string, number>>, intervalMs = DEFAULT_INTERVAL): RssWatch {
  const ranges: Record<string, RssRange> = {}
  for (const name of Object.keys(pids)) ranges[name] = { first: 0, min: Number.POSITIVE_INFINITY, max: 0, samples: 0 }
  function sample (): void {
    for (const [name, pid] of Object.entries(pids)) {
      const rss = treeRss(pid)
      const range = ranges[name]
      if (rss === 0 || range === undefined) continue
      if (range.samples === 0) range.first = rss
      range.min = Math.min(range.min, rss)
      range.max = Math.max(range.max, rss)
      range.samples++
    }
  }
  sample()
  // unref: a run that fails before stop() must not be kept alive by its sampler.
  const timer = setInterval(sample, intervalMs).unref()
  function read (): Record<string, RssRange> {
    return Object.fromEntries(Object.entries(ranges).map(([name, r]) => [name, { ...r, min: r.samples === 0 ? 0 : r.min }]))
  }
  return {
    read,
    stop () {
      clearInterval(timer)
      sample()
      return read()
    }
  }
}
