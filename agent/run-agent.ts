/**
 * `outbridge agent`: builds a Bridge from validated options, serves /healthz and /metrics when
 * asked, and handles signals: the first SIGTERM/SIGINT drains (in-flight calls finish within
 * --drain-timeout), a second one stops at once. Exit 0 after a drain.
 */
import { createBridge } from './bridge-factory.js'
import { startHealthServer, type HealthServer } from './health.js'
import { createLogger } from './logger.js'
import { bridgeMetrics } from './metrics.js'
import type { AgentOptions } from './option-types.js'
import { VERSION } from './package-info.js'

/** Runs the bridge until SIGINT/SIGTERM; resolves with the process exit code. */
export async function runAgent (options: AgentOptions): Promise<number> {
  const log = createLogger(options.logLevel)
  const bridge = await createBridge(options, log)
  let health: HealthServer | undefined
  if (options.healthPort !== undefined) {
    health = await startHealthServer(options.healthPort, () => bridge.status, bridgeMetrics(bridge))
    log.info({ bridge: options.name, port: health.port }, `health on http://127.0.0.1:${health.port}/healthz`)
  }
  log.info({ bridge: options.name, cloud: options.cloudUrl, rules: options.allow, version: VERSION }, 'starting')
  if (options.allow.length === 0) log.warn({ bridge: options.name }, 'no --allow rules: every call will be refused')
  bridge.start()
  await waitForSignal(async () => {
    log.info({ bridge: options.name, inFlight: bridge.status.inFlight }, 'draining')
    const left = await bridge.drain(options.drainTimeout)
    if (left > 0) log.warn({ bridge: options.name, aborted: left }, 'drain timeout: aborted calls still running')
  }, () => {
    log.warn({ bridge: options.name }, 'second signal: stopping now')
    bridge.stop()
  })
  await health?.close()
  log.info({ bridge: options.name }, 'stopped')
  return 0
}

/** Resolves after `first` ran for the first SIGINT/SIGTERM (a second signal runs `second`). */
function waitForSignal (first: () => Promise<void>, second: () => void): Promise<void> {
  return new Promise((resolve) => {
    let count = 0
    const onSignal = (): void => {
      count++
      if (count === 1) {
        first().then(resolve, resolve)
      } else {
        second()
        resolve()
      }
    }
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
  })
}
