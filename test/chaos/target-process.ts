/**
 * The chaos target in a process of its own, for cases whose connections would not fit in one
 * process's descriptor limit together with their callers (10,000 calls need 10,000 sockets on
 * each side). Prints `{"port":N}` when listening; stops on SIGTERM/SIGINT. Its gates are
 * controlled over HTTP (`/gate-stats`, `/gate-release`).
 */
import { startChaosTarget } from './chaos-target.js'

async function main (): Promise<void> {
  const target = await startChaosTarget()
  process.stdout.write(`${JSON.stringify({ port: target.port })}\n`)
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve)
    process.once('SIGINT', resolve)
  })
  await target.close()
}

main().catch((err: unknown) => {
  process.stderr.write(`chaos target: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`)
  process.exit(1)
})
