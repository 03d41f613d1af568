/**
 * Old-generation headroom for the long-running relay processes (`agent`, `mock-cloud`).
 *
 * Body bytes cross a relay in short-lived Buffers (socket reads, WebSocket messages of up to
 * 1 MiB). Those still queued when two scavenges pass are promoted, and with V8's own growing
 * factor for a small heap (about 3x of ~8 MiB live) the promoted backing stores started
 * incremental marking every ~20 ms of a transfer: 60+ mark-compacts per GiB, a quarter to a
 * third of the cloud's CPU on a download. A growing factor of 5 leaves room for them to be
 * collected in a few full GCs instead (BENCHMARKS.md, 2026-11-23 evening, "GC headroom").
 *
 * It is set at run time because `--heap-growing-percent` is not allowed in NODE_OPTIONS; V8
 * reads it each time it sets the next limit. A value on node's own command line wins.
 */
import { setFlagsFromString } from 'node:v8'

/** The old generation may grow to (1 + this / 100) times what survived the last full GC. */
export const HEAP_GROWING_PERCENT = 400

const FLAG = '--heap-growing-percent'

/** The flag to set, or undefined when node's command line already names one. */
export function headroomFlag (execArgv: readonly string[]): string | undefined {
  const named = execArgv.some((arg) => arg === FLAG || arg.startsWith(`${FLAG}=`) || arg === '--heap_growing_percent' || arg.startsWith('--heap_growing_percent='))
  return named ? undefined : `${FLAG}=${HEAP_GROWING_PERCENT}`
}

/** Applies the headroom to this process (see the module comment). */
export function applyHeapHeadroom (execArgv: readonly string[] = process.execArgv): void {
  const flag = headroomFlag(execArgv)
  if (flag !== undefined) setFlagsFromString(flag)
}
