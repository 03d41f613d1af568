/**
 * What the e2e harness tracks so {@link cleanup} can undo it: the CLI child processes it spawned,
 * the temp dirs it made and the sample targets it started. Whatever is still around when this
 * process exits is SIGKILLed / removed.
 */
import type { ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startSampleTarget } from '../../agent/sample-target.js'
import type { SampleTarget } from '../../agent/sample-target.js'

/** Running children; `cli-process.ts` adds each one it spawns and deletes it once closed. */
export const children = new Set<ChildProcess>()
const tempDirs = new Set<string>()
const targets = new Set<SampleTarget>()

process.on('exit', function killChildrenOnExit () {
  for (const child of children) child.kill('SIGKILL')
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true })
})

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
