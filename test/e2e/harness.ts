/**
 * End-to-end harness: runs the built CLI (`dist/bin/outbridge.js`) as child processes the way a
 * user would, per /work/shared/CONTRACT.md. Every process, temp dir and target it starts is
 * tracked; register {@link cleanup} with `after()`. Children get a hermetic environment: no
 * `OUTBRIDGE_*` and no proxy variables unless a test passes them.
 */
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { connect, createServer } from 'node:net'
import type { AddressInfo, Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { setTimeout as delay } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { startSampleTarget } from '../../agent/sample-target.js'
import type { SampleTarget } from '../../agent/sample-target.js'

/** The repo root: the nearest folder above this file holding package.json (works from test/ and dist/test/). */
function findRoot (from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir
    if (dirname(dir) === dir) throw new Error(`no package.json above ${from}`)
  }
}

/** Absolute path of the built CLI. */
export const CLI: string = join(findRoot(dirname(fileURLToPath(import.meta.url))), 'dist', 'bin', 'outbridge.js')

/** The client pair {@link startCloud} registers and {@link startAgent} uses by default. */
export const DEFAULT_CLIENT = { id: 'acc-1', secret: 's3cret-s3cret-s3cret-s3cret!' } as const

const PROXY_VARIABLES = new Set(['http_proxy', 'https_proxy', 'no_proxy', 'all_proxy'])
const children = new Set<ChildProcess>()
const tempDirs = new Set<string>()
const targets = new Set<SampleTarget>()

process.on('exit', function killChildrenOnExit () {
  for (const child of children) child.kill('SIGKILL')
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true })
})

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

/** Polls `fn` until it returns a truthy value, and returns it; throws at the deadline. @default timeoutMs 10_000, intervalMs 25 */
export async function waitFor<T> (fn: () => T | Promise<T>, options: { timeoutMs?: number, intervalMs?: number, message?: string } = {}): Promise<NonNullable<T>> {
  const timeoutMs = options.timeoutMs ?? 10_000
  const deadline = performance.now() + timeoutMs
  let lastError: unknown
  for (;;) {
    try {
      const value = await fn()
      if (value) return value as NonNullable<T>
    } catch (err) {
      lastError = err
    }
    if (performance.now() >= deadline) throw new Error(`${options.message ?? 'waitFor'}: not true within ${timeoutMs} ms`, { cause: lastError })
    await delay(options.intervalMs ?? 25)
  }
}

/** A fresh temp directory, removed by {@link cleanup}. */
export function makeTempDir (prefix = 'outbridge-e2e-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  tempDirs.add(dir)
  return dir
}

/** A sample target on 127.0.0.1 (a free port), closed by {@link cleanup}. */
export async function startTarget (): Promise<SampleTarget> {
  const target = await startSampleTarget()
  targets.add(target)
  return target
}

/** SIGKILLs every process still running, closes the targets, removes the temp dirs. */
export async function cleanup (): Promise<void> {
  const exits = [...children].map((child) => new Promise((resolve) => {
    child.once('close', resolve)
    child.kill('SIGKILL')
  }))
  await Promise.all([...exits, ...[...targets].map((target) => target.close())])
  targets.clear()
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true })
  tempDirs.clear()
}

const READY = /listening on (https?):\/\/(\[[^\]]+\]|[^\s/:"]+):(\d+)/

/** A running `outbridge mock-cloud`. */
export interface Cloud {
  readonly proc: Proc
  /** `http(s)://HOST:PORT` (a wildcard listen address is reached through loopback). */
  readonly url: string
  /** `ws(s)://HOST:PORT/agent`, for `--cloud-url`. */
  readonly agentUrl: string
  readonly port: number
  /** `fetch(url + path)`, with the bearer token when the cloud was started with one. */
  api (path: string, init?: RequestInit): Promise<Response>
  /** `GET /api/bridges`, parsed; throws unless 200. */
  bridges (): Promise<Array<Record<string, unknown>>>
  /** SIGTERM; resolves with the exit code. */
  stop (): Promise<number | null>
}

/** Starts `mock-cloud --port 0 --client ...` and waits for its ready line. @default clients [`acc-1:<DEFAULT_CLIENT.secret>`] */
export async function startCloud (options: { clients?: string[], args?: string[], env?: NodeJS.ProcessEnv, port?: number, apiToken?: string } = {}): Promise<Cloud> {
  const clients = options.clients ?? [`${DEFAULT_CLIENT.id}:${DEFAULT_CLIENT.secret}`]
  const args = ['mock-cloud', '--port', String(options.port ?? 0), ...clients.flatMap((client) => ['--client', client])]
  if (options.apiToken !== undefined) args.push('--api-token', options.apiToken)
  const proc = spawnCli([...args, ...(options.args ?? [])], { env: options.env })
  let ready: RegExpExecArray
  try {
    ready = READY.exec(await proc.waitForLine((line) => READY.test(line), 15_000))!
  } catch (err) {
    await proc.stop('SIGKILL')
    throw err
  }
  const [, scheme, listenHost, port] = ready
  const host = listenHost === '0.0.0.0' ? '127.0.0.1' : listenHost === '[::]' ? '[::1]' : listenHost
  const url = `${scheme}://${host}:${port}`
  function api (path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers)
    if (options.apiToken !== undefined && !headers.has('authorization')) headers.set('authorization', `Bearer ${options.apiToken}`)
    return fetch(url + path, { ...init, headers })
  }
  async function bridges (): Promise<Array<Record<string, unknown>>> {
    const res = await api('/api/bridges')
    if (res.status !== 200) throw new Error(`GET /api/bridges answered ${res.status}: ${await res.text()}`)
    return await res.json() as Array<Record<string, unknown>>
  }
  return {
    proc,
    url,
    agentUrl: `${scheme === 'https' ? 'wss' : 'ws'}://${host}:${port}/agent`,
    port: Number(port),
    api,
    bridges,
    stop: () => proc.stop()
  }
}

/** A running `outbridge agent`. */
export interface Agent {
  readonly proc: Proc
  /** Its `--data-dir`. */
  readonly dataDir: string
  /** Resolves once the agent has logged `msg: "connected"` `times` times. @default timeoutMs 15_000, times 1 */
  waitConnected (timeoutMs?: number, times?: number): Promise<void>
  /** Sends `signal`; resolves with the exit code. @default 'SIGTERM' */
  stop (signal?: NodeJS.Signals): Promise<number | null>
}

/** Options of {@link startAgent}. */
export interface AgentStartOptions {
  /** @default DEFAULT_CLIENT.id */
  clientId?: string
  /** @default DEFAULT_CLIENT.secret */
  secret?: string
  /** `--allow` rules. @default ['127.0.0.1'] (where the sample target listens) */
  allow?: string[]
  /** `--name`. @default the client id */
  name?: string
  /** `--data-dir`. @default a fresh temp dir */
  dataDir?: string
  /** Extra flags, after the ones above. */
  args?: string[]
  env?: NodeJS.ProcessEnv
  /** Wait for the first `connected` line before resolving. @default true */
  waitConnected?: boolean
}

function isConnectedLine (line: string): boolean {
  try {
    return (JSON.parse(line) as { msg?: unknown }).msg === 'connected'
  } catch {
    return false
  }
}

/** Starts `outbridge agent` toward `cloud.agentUrl` (a relay's URL works too). */
export async function startAgent (cloud: { agentUrl: string }, options: AgentStartOptions = {}): Promise<Agent> {
  const clientId = options.clientId ?? DEFAULT_CLIENT.id
  const dataDir = options.dataDir ?? makeTempDir()
  const proc = spawnCli([
    'agent',
    '--cloud-url', cloud.agentUrl,
    '--client-id', clientId,
    '--client-secret', options.secret ?? DEFAULT_CLIENT.secret,
    '--name', options.name ?? clientId,
    '--data-dir', dataDir,
    ...(options.allow ?? ['127.0.0.1']).flatMap((rule) => ['--allow', rule]),
    ...(options.args ?? [])
  ], { env: options.env })
  const agent: Agent = {
    proc,
    dataDir,
    waitConnected: async (timeoutMs = 15_000, times = 1) => { await proc.waitForLine(isConnectedLine, timeoutMs, times) },
    stop: (signal = 'SIGTERM') => proc.stop(signal)
  }
  if (options.waitConnected ?? true) {
    try {
      await agent.waitConnected()
    } catch (err) {
      await proc.stop('SIGKILL')
      throw err
    }
  }
  return agent
}

/** Open file descriptors of process `pid` (entries of /proc/PID/fd); Linux only. Throws ENOENT once it is gone. */
export function openFds (pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length
}

/** `http://127.0.0.1:PORT` of an agent started with `--health-port 0`, from its `health on` line. */
export async function healthUrl (agent: Agent): Promise<string> {
  const line = await agent.proc.waitForLine((l) => l.includes('"health on '))
  return `http://127.0.0.1:${(JSON.parse(line) as { port: number }).port}`
}

/** A TCP forwarder that logs when each connection it could pass on arrived (see {@link startConnectionLog}). */
export interface ConnectionLog {
  /** `ws://127.0.0.1:PORT/agent` through the forwarder, for `--cloud-url`. */
  readonly agentUrl: string
  /** `performance.now()` at accept of each connection whose upstream connect succeeded, in that order. */
  readonly forwarded: readonly number[]
  /** Stops listening and destroys every connection. */
  close (): Promise<void>
}

/**
 * Forwards 127.0.0.1:(a free port) to 127.0.0.1:`port` and records arrival times, so a test sees
 * when clients connected, not when a busy server got round to them. A connection whose upstream
 * connect fails is closed (the client sees a failed attempt) and not recorded.
 */
export async function startConnectionLog (port: number): Promise<ConnectionLog> {
  const forwarded: number[] = []
  const sockets = new Set<Socket>()
  const server = createServer(function forward (client) {
    const arrivedAt = performance.now()
    const upstream = connect(port, '127.0.0.1')
    for (const socket of [client, upstream]) {
      sockets.add(socket)
      socket.on('error', () => {}) // either side failing just ends the pair
      socket.once('close', () => {
        sockets.delete(socket)
        client.destroy()
        upstream.destroy()
      })
    }
    upstream.once('connect', () => forwarded.push(arrivedAt))
    client.pipe(upstream).pipe(client)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    agentUrl: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/agent`,
    forwarded,
    close: () => new Promise((resolve) => {
      for (const socket of sockets) socket.destroy()
      server.close(() => resolve())
    })
  }
}
