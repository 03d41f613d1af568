/**
 * The bench's target server, in a process of its own: the sample target on 127.0.0.1 and a
 * free port. Prints `target listening on PORT` when ready; exits on SIGTERM/SIGINT.
 */
import { startSampleTarget } from '../agent/sample-target.js'

async function main (): Promise<void> {
  const target = await startSampleTarget({ host: '127.0.0.1' })
  process.stdout.write(`target listening on ${target.port}\n`)
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve)
    process.once('SIGINT', resolve)
  })
  await target.close()
}

main().catch((err: unknown) => {
  process.stderr.write(`bench target: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exitCode = 1
})
