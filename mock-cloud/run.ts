/**
 * `outbridge mock-cloud`: starts the cloud, prints `listening on URL` when ready, and on
 * SIGTERM/SIGINT sends GOAWAY to every bridge, lets calls finish briefly, and exits 0.
 */
import { readFileSync } from 'node:fs'
import { createLogger } from '../agent/logger.js'
import type { MockCloudOptions } from '../agent/option-types.js'
import { createCloud } from './server.js'

/** Grace for in-flight calls when the cloud shuts down, in ms. */
const SHUTDOWN_GRACE = 5_000

/** Runs the mock cloud until SIGINT/SIGTERM; prints `listening on ...` when ready; resolves with the exit code. */
export async function runMockCloud (options: MockCloudOptions): Promise<number> {
  const log = createLogger(options.logLevel, { name: 'mock-cloud' })
  const tls = options.tlsCert !== undefined && options.tlsKey !== undefined
    ? { cert: readFileSync(options.tlsCert, 'utf8'), key: readFileSync(options.tlsKey, 'utf8') }
    : undefined
  const cloud = createCloud({
    clients: options.clients,
    tls,
    apiToken: options.apiToken,
    maxBodyBytes: options.maxBodyBytes,
    maxMessageBytes: options.maxMessageBytes,
    heartbeatInterval: options.heartbeatInterval,
    reauth: options.reauth,
    log
  })
  const url = await cloud.listen(options.port, options.host)
  if (log.isLevelEnabled('info')) log.info({ url, clients: options.clients.map((c) => c.id) }, `listening on ${url}`)
  else process.stdout.write(`listening on ${url}\n`)
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve)
    process.once('SIGTERM', resolve)
  })
  log.info('shutting down')
  await cloud.close(SHUTDOWN_GRACE)
  return 0
}
