/**
 * Process plumbing of the e2e harness: runs the built CLI (`dist/bin/outbridge.js`) as a child
 * with a hermetic environment (no `OUTBRIDGE_*` and no proxy variables unless a test passes them),
 * collects its stdout/stderr lines, waits for lines, parses its JSON (pino) lines, and stops it.
 * Every child is registered in `tracked.ts` so `cleanup()` can kill it.
 */
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { children } from './tracked.js'

/** The repo root: the nearest folder above this file holding package.json (works from test/ and dist/test/). */
function findRoot (from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir
    if (dirname(dir) === dir) throw new Error(`no package.json above ${from}`)
  }
}

/** Absolute path of the built CLI. */
export const CLI: string = join(findRoot(dirname(fileURLToPath(import.meta.url))), 'dist', 'bin', 'outbridge.js')

const PROXY_VARIABLES = new Set(['http_proxy', 'https_proxy', 'no_proxy', 'all_proxy'])

/** A running CLI process and what it printed so far. */
export interface Proc {
  readonly child: ChildProcess
  /** stdout lines so far. */
  readonly lines: string[]
  /** stderr lines so far. */
  readonly stderr: string[]
  /** Resolves with the `nth` stdout line (counting from the start) matching `pred`. @default timeoutMs 10_000, nth 1 */
  waitForLine (pred: (line: string) => boolean, timeoutMs?: number, nth?: number): Promise<string>
  /** The stdout lines that are JSON objects (pino lines), parsed. */
  json (): Array<Record<string, unknown>>
  /** Sends `signal`, SIGKILLs after `timeoutMs`, resolves with the exit code (null when killed). @default 'SIGTERM', 10_000 */
  stop (signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | null>
  /** The exit code (null when killed by a signal), once stdout and stderr are closed. */
  readonly exited: Promise<number | null>
}

/** `process.env` without `OUTBRIDGE_*`, proxy and test-runner variables, then `extra` on top. */
export function childEnv (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (key.startsWith('OUTBRIDGE_') || PROXY_VARIABLES.has(key.toLowerCase()) || key === 'NODE_TEST_CONTEXT') continue
    env[key] = value
  }
  return { ...env, ...extra }
}

function tail (lines: string[]): string {
  return lines.slice(-20).join('\n')
}

function track (child: ChildProcess): Proc {
  children.add(child)
  const lines: string[] = []
  const stderr: string[] = []
  const watchers = new Set<() => void>()
  let closed = false
  const exited = new Promise<number | null>((resolve) => {
    child.once('close', function onClose (code) {
      closed = true
      children.delete(child)
      resolve(code)
      for (const watch of watchers) watch()
    })
  })
  createInterface({ input: child.stdout! }).on('line', function onLine (line) {
    lines.push(line)
    for (const watch of watchers) watch()
  })
  createInterface({ input: child.stderr! }).on('line', function onStderrLine (line) { stderr.push(line) })

  function waitForLine (pred: (line: string) => boolean, timeoutMs = 10_000, nth = 1): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => fail('timed out'), timeoutMs)
      function fail (why: string): void {
        finish()
        reject(new Error(`waitForLine: ${why} (pid ${child.pid})\n--- stdout\n${tail(lines)}\n--- stderr\n${tail(stderr)}`))
      }
      function finish (): void {
        clearTimeout(timer)
        watchers.delete(check)
      }
      function check (): void {
        const found = lines.filter(pred)
        if (found.length >= nth) {
          finish()
          resolve(found[nth - 1])
        } else if (closed) {
          fail(`process exited (${child.exitCode ?? child.signalCode})`)
        }
      }
      watchers.add(check)
      check()
    })
  }

  async function stop (signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 10_000): Promise<number | null> {
    if (!closed) child.kill(signal)
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    try {
      return await exited
    } finally {
      clearTimeout(timer)
    }
  }

  return { child, lines, stderr, waitForLine, json: () => parseJsonLines(lines), stop, exited }
}

function parseJsonLines (lines: readonly string[]): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = []
  for (const line of lines) {
    if (!line.startsWith('{')) continue
    try {
      out.push(JSON.parse(line) as Record<string, unknown>)
    } catch {
      // Not a pino line (e.g. a stray console.log); the tests assert on pino lines only.
    }
  }
  return out
}

/** Starts `node dist/bin/outbridge.js ...args` with a hermetic environment; stdin is /dev/null. */
export function spawnCli (args: string[], options: { env?: NodeJS.ProcessEnv } = {}): Proc {
  return track(spawn(process.execPath, [CLI, ...args], { env: childEnv(options.env), stdio: ['ignore', 'pipe', 'pipe'] }))
}

/** Runs the CLI to completion, feeding `input` on stdin; output comes back as lines, each ending in `\n`. Rejects (after SIGKILL) past `timeoutMs`. @default timeoutMs 30_000 */
export async function runCli (args: string[], options: { env?: NodeJS.ProcessEnv, input?: string, timeoutMs?: number } = {}): Promise<{ code: number | null, stdout: string, stderr: string }> {
  const child = spawn(process.execPath, [CLI, ...args], { env: childEnv(options.env), stdio: ['pipe', 'pipe', 'pipe'] })
  const proc = track(child)
  child.stdin?.on('error', () => {}) // the CLI may exit without reading its input
  child.stdin?.end(options.input ?? '')
  const timeoutMs = options.timeoutMs ?? 30_000
  let timedOut = false
  const timer = setTimeout(() => { timedOut = child.kill('SIGKILL') }, timeoutMs)
  const code = await proc.exited
  clearTimeout(timer)
  if (timedOut) throw new Error(`outbridge ${args[0]}: killed after ${timeoutMs} ms\n${tail(proc.stderr)}`)
  return { code, stdout: proc.lines.map((line) => `${line}\n`).join(''), stderr: proc.stderr.map((line) => `${line}\n`).join('') }
}

/** Open file descriptors of process `pid` (entries of /proc/PID/fd); Linux only. Throws ENOENT once it is gone. */
export function openFds (pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length
}
