/**
 * Runs a fleet of bridges as a few {@link ./agent-swarm.ts} processes: builds them all, then
 * starts every bridge of every process at the same moment. Processes left running are killed
 * when the test process exits.
 */
import type { ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { DEFAULT_CLIENT, makeTempDir } from '../e2e/harness.js'
import { spawnScript, stopChild } from './child-script.js'

/** Time allowed for every process to build its bridges, in ms. */
const BUILD_TIMEOUT_MS = 60_000

/** Options of {@link startSwarm}. */
export interface SwarmOptions {
  /** `ws://.../agent` the bridges connect to. */
  readonly agentUrl: string
  /** Bridges in all. */
  readonly count: number
  /** Processes they are spread over. */
  readonly processes: number
  /** Bridge names are `PREFIX-P-I`. */
  readonly prefix: string
  readonly heartbeatMs: number
  /** `--handshake-timeout` of every bridge. @default the agent's default (10 s) */
  readonly handshakeTimeoutMs?: number
}

/** A built fleet, not yet started. */
export interface Swarm {
  /** `performance.now()` when {@link Swarm.go} told every process to start. */
  readonly startedAt: number | undefined
  /** `connected` events so far, across processes (a bridge counts once per session). */
  readonly connectedEvents: number
  /** Lines the processes printed on stderr. */
  readonly stderr: readonly string[]
  /** Starts every bridge of every process. */
  go (): void
  /** SIGTERM, then SIGKILL after `timeoutMs`; resolves once every process is gone. @default 5_000 */
  stop (timeoutMs?: number): Promise<void>
}

/** Spawns the processes and resolves once every one of them has built its bridges. */
export async function startSwarm (options: SwarmOptions): Promise<Swarm> {
  const dataRoot = makeTempDir('outbridge-swarm-')
  const stderr: string[] = []
  const children: ChildProcess[] = []
  let ready = 0
  let connectedEvents = 0
  for (let p = 0; p < options.processes; p++) {
    const count = Math.floor(options.count / options.processes) + (p < options.count % options.processes ? 1 : 0)
    const child = spawnScript('agent-swarm', [
      '--cloud-url', options.agentUrl,
      '--count', String(count),
      '--prefix', `${options.prefix}-${p}`,
      '--data-root', dataRoot,
      '--heartbeat-interval', String(options.heartbeatMs),
      ...(options.handshakeTimeoutMs === undefined ? [] : ['--handshake-timeout', String(options.handshakeTimeoutMs)])
    ], { CHAOS_SWARM_CLIENT_ID: DEFAULT_CLIENT.id, CHAOS_SWARM_CLIENT_SECRET: DEFAULT_CLIENT.secret })
    createInterface({ input: child.stdout! }).on('line', function onSwarmLine (line) {
      const event = JSON.parse(line) as { swarm?: string }
      if (event.swarm === 'ready') ready++
      else if (event.swarm === 'connected') connectedEvents++
    })
    createInterface({ input: child.stderr! }).on('line', (line) => { stderr.push(line) })
    children.push(child)
  }
  try {
    await new Promise<void>((resolve, reject) => {
      const deadline = performance.now() + BUILD_TIMEOUT_MS
      const check = setInterval(function checkBuilt () {
        const dead = children.find((child) => child.exitCode !== null || child.signalCode !== null)
        let error: Error | undefined
        if (dead !== undefined) error = new Error(`a swarm process exited (${dead.exitCode ?? dead.signalCode}):\n${stderr.slice(-10).join('\n')}`)
        else if (performance.now() > deadline) error = new Error(`swarm: not built within ${BUILD_TIMEOUT_MS} ms`)
        else if (ready < options.processes) return
        clearInterval(check)
        if (error === undefined) resolve()
        else reject(error)
      }, 50)
    })
  } catch (err) {
    for (const child of children) child.kill('SIGKILL')
    throw err
  }
  let startedAt: number | undefined
  return {
    get startedAt () { return startedAt },
    get connectedEvents () { return connectedEvents },
    stderr,
    go () {
      startedAt = performance.now()
      for (const child of children) child.stdin!.write('go\n')
    },
    async stop (timeoutMs = 5_000) {
      await Promise.all(children.map((child) => stopChild(child, timeoutMs)))
    }
  }
}
