/**
 * Runs a helper script of this folder (agent-swarm, target-process) as a child process: through
 * tsx when the tests run from source, as plain JavaScript when they run from dist. Every child is
 * killed when the test process exits; {@link stopChild} ends one in order.
 */
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { extname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { childEnv } from '../e2e/harness.js'

const SELF = fileURLToPath(import.meta.url)
const FROM_SOURCE = extname(SELF) === '.ts'

const running = new Set<ChildProcess>()
process.on('exit', function killScriptsOnExit () {
  for (const child of running) child.kill('SIGKILL')
})

/** Spawns `node NAME.js ...args` (or `node --import tsx NAME.ts`) of this folder with stdin, stdout and stderr piped. */
export function spawnScript (name: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  const script = FROM_SOURCE ? ['--import', 'tsx', join(SELF, '..', `${name}.ts`)] : [join(SELF, '..', `${name}.js`)]
  const child = spawn(process.execPath, [...script, ...args], { env: childEnv(env), stdio: ['pipe', 'pipe', 'pipe'] })
  running.add(child)
  child.once('exit', () => running.delete(child))
  return child
}

/** SIGTERM, then SIGKILL after `timeoutMs`; resolves once the child is gone. @default 5_000 */
export function stopChild (child: ChildProcess, timeoutMs = 5_000): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.once('exit', () => { clearTimeout(timer); resolve() })
    child.kill('SIGTERM')
  })
}
