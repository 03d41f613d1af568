/**
 * The child processes the bench starts: spawned, watched for a ready line, and always stopped,
 * on success, on error and on Ctrl-C. Only processes started here are ever signalled.
 */
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { once } from 'node:events'

/** How much of a child's output is kept for error messages, in characters. */
const TAIL_CHARS = 4_096
/** Wait after SIGTERM before SIGKILL, in ms. */
const KILL_GRACE = 3_000

/** A process started by the bench. */
export interface BenchChild {
  readonly name: string
  readonly pid: number
  readonly process: ChildProcess
  /** The last {@link TAIL_CHARS} characters of stdout and stderr, for error messages. */
  tail (): string
  /** Resolves with the first match of `pattern` in the output; rejects on exit or after `timeoutMs`. */
  waitFor (pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray>
  /** Calls `onLine` with every complete output line from now on. */
  onLine (onLine: (line: string) => void): void
}

const running = new Set<BenchChild>()

/** Spawns `command` with stdio piped, and registers it for {@link stopAll}. */
export function startChild (name: string, command: string, args: readonly string[], env?: NodeJS.ProcessEnv): BenchChild {
  const proc = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: env ?? process.env })
  if (proc.pid === undefined) throw new Error(`${name}: could not start ${command}`)
  let tail = ''
  let partial = ''
  const lineListeners: Array<(line: string) => void> = []
  function onOutput (chunk: Buffer): void {
    const text = chunk.toString('utf8')
    tail = (tail + text).slice(-TAIL_CHARS)
    const lines = (partial + text).split('\n')
    partial = lines.pop() ?? ''
    for (const line of lines) for (const listener of lineListeners) listener(line)
  }
  proc.stdout?.on('data', onOutput)
  proc.stderr?.on('data', onOutput)
  const child: BenchChild = {
    name,
    pid: proc.pid,
    process: proc,
    tail: () => tail,
    waitFor: (pattern, timeoutMs) => waitForOutput(child, pattern, timeoutMs),
    onLine: (listener) => { lineListeners.push(listener) }
  }
  running.add(child)
  proc.once('exit', () => running.delete(child))
  return child
}

function waitForOutput (child: BenchChild, pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
  const early = child.tail().match(pattern)
  if (early !== null) return Promise.resolve(early)
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => finish(new Error(`${child.name}: not ready within ${timeoutMs} ms; output:\n${child.tail()}`)), timeoutMs)
    function onData (): void {
      const match = child.tail().match(pattern)
      if (match !== null) finish(undefined, match)
    }
    function onExit (code: number | null, signal: string | null): void {
      finish(new Error(`${child.name}: exited (${code ?? signal}) before it was ready; output:\n${child.tail()}`))
    }
    function finish (err?: Error, match?: RegExpMatchArray): void {
      clearTimeout(timer)
      child.process.stdout?.off('data', onData)
      child.process.stderr?.off('data', onData)
      child.process.off('exit', onExit)
      if (match !== undefined) resolve(match)
      else reject(err)
    }
    child.process.stdout?.on('data', onData)
    child.process.stderr?.on('data', onData)
    child.process.once('exit', onExit)
  })
}

/** Sends SIGTERM, then SIGKILL after {@link KILL_GRACE} ms; resolves once the child has exited. */
export async function stopChild (child: BenchChild): Promise<void> {
  if (child.process.exitCode !== null || child.process.signalCode !== null) return
  const exited = once(child.process, 'exit')
  child.process.kill('SIGTERM')
  const timer = setTimeout(() => child.process.kill('SIGKILL'), KILL_GRACE)
  await exited
  clearTimeout(timer)
}

/** Stops every child still running, latest first (clients before the servers they use). */
export async function stopAll (): Promise<void> {
  for (const child of [...running].reverse()) await stopChild(child)
}

/** Last resort on process exit: SIGKILL whatever is left, synchronously. */
export function killAllNow (): void {
  for (const child of running) child.process.kill('SIGKILL')
}

/** Runs `command` to completion and returns its stdout; rejects on a non-zero exit or after `timeoutMs`. */
export async function runToEnd (command: string, args: readonly string[], timeoutMs: number): Promise<string> {
  const child = startChild(command, command, args)
  let stdout = ''
  child.process.stdout?.on('data', (chunk: Buffer) => { stdout += chunk.toString('utf8') })
  const timer = setTimeout(() => child.process.kill('SIGKILL'), timeoutMs)
  // 'close' rather than 'exit': every byte of stdout has been read by then.
  const [code, signal] = await once(child.process, 'close') as [number | null, string | null]
  clearTimeout(timer)
  if (code !== 0) throw new Error(`${command} ${args.join(' ')}: exited ${code ?? signal}; output:\n${child.tail()}`)
  return stdout
}
