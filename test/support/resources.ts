/**
 * Resource probes for leak tests: memory, active libuv handles by type, and open file
 * descriptors of this process; resident memory of a child. Linux only (reads /proc).
 */
import { readdirSync } from 'node:fs'
import { setTimeout as delay } from 'node:timers/promises'
import { procStatusBytes } from '../../bench/rss.js'

/** What this process holds at one moment. */
export interface ResourceSnapshot {
  /** Resident set size, in bytes. */
  readonly rssBytes: number
  /** V8 heap in use, in bytes. */
  readonly heapUsedBytes: number
  /** Active resources by type (`TCPSocketWrap`, `Timeout`, ...), from `process.getActiveResourcesInfo()`. */
  readonly activeHandles: Readonly<Record<string, number>>
  /** Open file descriptors (entries of /proc/self/fd, not counting the one used to list them). */
  readonly fds: number
}

/** Options of {@link waitForBaseline}. */
export interface BaselineOptions {
  /** Give up after this long, in ms. @default 10_000 (longer than undici's 4 s keep-alive) */
  timeoutMs?: number
  /** Poll period, in ms. @default 50 */
  intervalMs?: number
  /** Extra file descriptors tolerated above the baseline. @default 0 */
  fdSlack?: number
}

/** An error whose `code` is `ERR_RESOURCE_LEAK` and whose `diff` names what stayed above the baseline. */
export class ResourceLeakError extends Error {
  readonly code = 'ERR_RESOURCE_LEAK'
  readonly diff: Readonly<Record<string, { readonly baseline: number, readonly now: number }>>
  constructor (diff: Record<string, { baseline: number, now: number }>, timeoutMs: number) {
    const listed = Object.entries(diff).map(([key, { baseline, now }]) => `${key} ${baseline} -> ${now}`)
    super(`resources still above baseline after ${timeoutMs} ms: ${listed.join(', ')}`)
    this.name = 'ResourceLeakError'
    this.diff = diff
  }
}

/** Takes a {@link ResourceSnapshot} of this process. */
export function snapshotResources (): ResourceSnapshot {
  const memory = process.memoryUsage()
  const activeHandles: Record<string, number> = {}
  for (const type of process.getActiveResourcesInfo()) activeHandles[type] = (activeHandles[type] ?? 0) + 1
  return {
    rssBytes: memory.rss,
    heapUsedBytes: memory.heapUsed,
    activeHandles,
    fds: readdirSync('/proc/self/fd').length - 1
  }
}

/** Resident memory of process `pid` (VmRSS), in bytes; `undefined` once the process is gone. */
export function sampleChildRss (pid: number): number | undefined {
  return statusBytes(pid, 'VmRSS')
}

/**
 * The most resident memory process `pid` has had since it started (the kernel's VmHWM), in
 * bytes; `undefined` once the process is gone. Unlike samples, it misses no short spike.
 */
export function peakChildRss (pid: number): number | undefined {
  return statusBytes(pid, 'VmHWM')
}

/** A `kB` line of `/proc/<pid>/status`, in bytes; `undefined` once the process is gone (a zombie has no such line). */
function statusBytes (pid: number, field: 'VmRSS' | 'VmHWM'): number | undefined {
  const bytes = procStatusBytes(pid, field)
  return bytes === 0 ? undefined : bytes
}

/** Types and counts (and `fds`) in `now` above `baseline`; empty when nothing is. */
export function resourcesAbove (baseline: ResourceSnapshot, now: ResourceSnapshot, fdSlack = 0): Record<string, { baseline: number, now: number }> {
  const diff: Record<string, { baseline: number, now: number }> = {}
  for (const [type, count] of Object.entries(now.activeHandles)) {
    const before = baseline.activeHandles[type] ?? 0
    if (count > before) diff[type] = { baseline: before, now: count }
  }
  if (now.fds > baseline.fds + fdSlack) diff.fds = { baseline: baseline.fds, now: now.fds }
  return diff
}

/**
 * Polls until no handle type and no fd count is above `baseline` (fewer is fine), then
 * returns the last snapshot; throws a {@link ResourceLeakError} with the diff at the deadline.
 */
export async function waitForBaseline (baseline: ResourceSnapshot, options: BaselineOptions = {}): Promise<ResourceSnapshot> {
  const timeoutMs = options.timeoutMs ?? 10_000
  const deadline = performance.now() + timeoutMs
  for (;;) {
    const now = snapshotResources()
    const diff = resourcesAbove(baseline, now, options.fdSlack)
    if (Object.keys(diff).length === 0) return now
    if (performance.now() >= deadline) throw new ResourceLeakError(diff, timeoutMs)
    await delay(options.intervalMs ?? 50)
  }
}
