/**
 * Measurements the chaos cases report and assert on: resident memory of child processes sampled
 * over time, percentiles, and how crowded a series of arrival times is.
 */
import { peakChildRss, sampleChildRss } from '../support/resources.js'

/** Bytes in a MiB, for readable figures. */
export const MiB = 1024 * 1024

/** RSS of one process, sampled every `intervalMs` until {@link RssWatch.stop}. */
export interface RssWatch {
  /** Highest RSS seen so far, in bytes. */
  readonly peak: number
  /** Every sample so far, in bytes. */
  readonly samples: readonly number[]
  /** Stops sampling (after one last sample); returns the peak. */
  stop (): number
}

/** Starts sampling the RSS of `pid`. @default intervalMs 100 */
export function watchRss (pid: number, intervalMs = 100): RssWatch {
  const samples: number[] = []
  let peak = 0
  function sample (): void {
    const rss = sampleChildRss(pid)
    if (rss === undefined) return
    samples.push(rss)
    peak = Math.max(peak, rss)
  }
  sample()
  const timer = setInterval(sample, intervalMs)
  return {
    get peak () { return peak },
    samples,
    stop () {
      clearInterval(timer)
      sample()
      return peak
    }
  }
}

/**
 * The most resident memory a running process has had since it started (the kernel's high-water
 * mark), in bytes; throws once it is gone. A spike shorter than a watch's interval shows here.
 */
export function highWaterOf (pid: number): number {
  const rss = peakChildRss(pid)
  if (rss === undefined) throw new Error(`process ${pid} is gone`)
  return rss
}

/** Resident memory of a running process, in bytes; throws once it is gone. */
export function rssOf (pid: number): number {
  const rss = sampleChildRss(pid)
  if (rss === undefined) throw new Error(`process ${pid} is gone`)
  return rss
}

/** The `p`-th percentile (0..100) of `values`, nearest rank. */
export function percentile (values: readonly number[], p: number): number {
  if (values.length === 0) throw new RangeError('no values')
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p / 100 * sorted.length) - 1))]
}

/** The median (50th percentile, nearest rank) of `values`. */
export function median (values: readonly number[]): number {
  return percentile(values, 50)
}

/** The most of `times` (ms) that fall in any window of `windowMs`, inclusive. */
export function densest (times: readonly number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b)
  let best = 0
  for (let lo = 0, hi = 0; hi < sorted.length; hi++) {
    while (sorted[hi] - sorted[lo] > windowMs) lo++
    best = Math.max(best, hi - lo + 1)
  }
  return best
}

/** `bytes` as MiB with one decimal, for messages. */
export function mib (bytes: number): string {
  return (bytes / MiB).toFixed(1)
}
