/**
 * Starts target-process.ts and controls its gates over HTTP: the chaos target's gate for cases
 * that need it in another process.
 */
import type { ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import type { GateStats } from './chaos-target.js'
import { spawnScript, stopChild } from './child-script.js'

/** A chaos target running in a child process. */
export interface RemoteTarget {
  readonly url: string
  readonly port: number
  readonly child: ChildProcess
  gate (group: string): Promise<GateStats>
  release (group: string): Promise<void>
  stop (): Promise<void>
}

/** Spawns the target process and resolves once it listens. */
export async function startRemoteTarget (): Promise<RemoteTarget> {
  const child = spawnScript('target-process', [])
  const stderr: string[] = []
  createInterface({ input: child.stderr! }).on('line', (line) => { stderr.push(line) })
  const lines = createInterface({ input: child.stdout! })
  const [line] = await Promise.race([
    once(lines, 'line') as Promise<[string]>,
    once(child, 'exit').then(() => { throw new Error(`the target process exited: ${stderr.join('\n')}`) })
  ])
  const { port } = JSON.parse(line) as { port: number }
  const url = `http://127.0.0.1:${port}`
  return {
    url,
    port,
    child,
    async gate (group) {
      const res = await fetch(`${url}/gate-stats?g=${encodeURIComponent(group)}`)
      return await res.json() as GateStats
    },
    async release (group) {
      const res = await fetch(`${url}/gate-release?g=${encodeURIComponent(group)}`, { method: 'POST' })
      await res.arrayBuffer()
    },
    stop: () => stopChild(child)
  }
}
