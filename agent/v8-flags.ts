/**
 * V8 flags the long-running relay processes set when they start. Each is set at run time
 * (V8 reads them when it next needs them) and only when node's own command line names no value
 * for it, so an operator can always trade a setting back: `node --heap-growing-percent=100
 * $(which outbridge) agent ...`, or `node --no-liftoff-only ...`.
 *
 * - `--heap-growing-percent=400` (agent and cloud). Body bytes cross a relay in short-lived
 *   Buffers (socket reads, WebSocket messages of up to 1 MiB). Those still queued when two
 *   scavenges pass are promoted, and with V8's own growing factor for a small heap (about 3x of
 *   ~8 MiB live) the promoted backing stores started incremental marking every ~20 ms of a
 *   transfer: 60+ mark-compacts per GiB, a quarter to a third of the cloud's CPU on a download.
 *   A growing factor of 5 leaves room for them to be collected in a few full GCs instead
 *   (BENCHMARKS.md, 2026-11-23 evening, "GC headroom"). NODE_OPTIONS does not accept it.
 * - `--liftoff-only` (agent). undici parses HTTP with llhttp compiled to WebAssembly. Once the
 *   parser is hot, V8 recompiles it with TurboFan on a worker thread, and that one compile
 *   takes about 40 MiB of compiler memory for ~100 ms: the agent's resident memory jumped from
 *   ~110 to 141-146 MiB at the start of its first bulk transfer, every time. With the parser on
 *   baseline (Liftoff) code, small requests ran 0-8% slower and bulk transfers no slower
 *   (BENCHMARKS.md, 2026-11-23 night, "The parser's compile spike"). It must be set before
 *   undici compiles the module.
 */
import { setFlagsFromString } from 'node:v8'

/** The old generation may grow to (1 + this / 100) times what survived the last full GC. */
export const HEAP_GROWING_PERCENT = 400

/** Which relay process is starting. */
export type RelayProcess = 'agent' | 'mock-cloud'

/** A V8 flag and the spellings that mean node's command line already decided it. */
interface Tuning {
  readonly flag: string
  readonly names: readonly string[]
  readonly for: readonly RelayProcess[]
}

const TUNINGS: readonly Tuning[] = [
  { flag: `--heap-growing-percent=${HEAP_GROWING_PERCENT}`, names: ['heap-growing-percent'], for: ['agent', 'mock-cloud'] },
  { flag: '--liftoff-only', names: ['liftoff-only', 'liftoff', 'wasm-tier-up', 'wasm-dynamic-tiering'], for: ['agent'] }
]

/** True when `arg` sets V8 flag `name` in any spelling: `--name`, `--no-name`, `--name=v`, with `-` or `_`. */
function setsFlag (arg: string, name: string): boolean {
  const match = /^--(?:no[-_])?([a-z_-]+)(?:=.*)?$/.exec(arg)
  return match !== null && match[1].replaceAll('_', '-') === name
}

/** The flags `role` sets at start, less those node's command line (`execArgv`) already names. */
export function v8FlagsFor (role: RelayProcess, execArgv: readonly string[]): string[] {
  return TUNINGS
    .filter((t) => t.for.includes(role) && !execArgv.some((arg) => t.names.some((name) => setsFlag(arg, name))))
    .map((t) => t.flag)
}

/** Sets this process's flags (see the module comment). Call it before undici is loaded. */
export function applyV8Flags (role: RelayProcess, execArgv: readonly string[] = process.execArgv): void {
  for (const flag of v8FlagsFor(role, execArgv)) setFlagsFromString(flag)
}
