/**
 * `outbridge agent`: builds a Bridge from validated options, serves /healthz and /metrics when
 * asked, and handles signals: the first SIGTERM/SIGINT drains (in-flight calls finish within
 * --drain-timeout), a second one stops at once. Exit 0 after a drain.
 */
import { DEFAULT_LIMITS } from '../protocol/version.js'
import { loadAgentKey, signAgentToken, audienceOf } from './auth.js'
import { Bridge } from './bridge.js'
import { trustedCas, proxyAgentFor, proxyFor } from './cloud-socket.js'
import { CredentialStore } from './credentials.js'
import { createExecutor } from './executor.js'
import { startHealthServer, type HealthServer } from './health.js'
import { createLogger, type Logger } from './logger.js'
import { bridgeMetrics } from './metrics.js'
import type { AgentOptions, ConnectionOptions } from './option-types.js'
import { VERSION } from './package-info.js'
import { TargetPolicy } from './policy.js'

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

/** Everything a bridge needs, from options. Shared by `agent`, `test-connection` and `run-once`. */
export async function createBridge (options: AgentOptions, log: Logger): Promise<Bridge> {
  const key = await loadAgentKey({ clientSecret: options.clientSecret, privateKeyFile: options.privateKeyFile })
  const audience = audienceOf(options.cloudUrl)
  const policy = new TargetPolicy(options.allow)
  const executor = createExecutor({ connectTimeout: 10_000, maxHeaderSize: 64 * 1024 })
  let store: CredentialStore | undefined
  const credentialHeader = async (name: string): Promise<readonly [string, string] | undefined> => {
    store ??= await CredentialStore.open(options.dataDir)
    const header = store.headerFor(name)
    if (header !== undefined) return header
    await store.reload()
    return store.headerFor(name)
  }
  const ca = trustedCas(options.caFile)
  if (options.insecure) log.warn({ bridge: options.name }, '--insecure: the cloud\'s TLS certificate is NOT verified')
  const proxy = proxyFor(options.cloudUrl, options.proxy)
  if (proxy !== undefined) log.info({ bridge: options.name, proxy: redactUrl(proxy) }, 'using a proxy for the cloud connection')
  const limits = { ...DEFAULT_LIMITS, maxStreams: options.maxStreams, maxBodyBytes: options.maxBodyBytes }
  return new Bridge({
    name: options.name,
    log,
    limits,
    agentVersion: VERSION,
    capabilities: [],
    heartbeatInterval: options.heartbeatInterval,
    handshakeTimeout: options.handshakeTimeout,
    socket: {
      url: options.cloudUrl,
      token: () => signAgentToken(key, options.clientId, audience),
      proxyAgent: proxyAgentFor(proxy, ca, options.insecure),
      ca,
      insecure: options.insecure,
      maxPayload: limits.maxMessageBytes,
      handshakeTimeout: options.handshakeTimeout,
      userAgent: `outbridge/${VERSION}`
    },
    streamContext: {
      policy,
      executor,
      credentialHeader,
      receiveWindow: limits.initialWindow,
      maxBodyBytes: options.maxBodyBytes,
      defaultTimeout: options.requestTimeout
    }
  })
}

/** The connection options alone, as an agent with no rules (for test-connection and run-once). */
export function connectionOnly (options: ConnectionOptions): AgentOptions {
  return { ...options, allow: [], maxBodyBytes: DEFAULT_LIMITS.maxBodyBytes, maxStreams: 16, requestTimeout: 30_000, followRedirects: false, drainTimeout: 5_000 }
}

/** A proxy URL without its password, for logs. */
export function redactUrl (url: string): string {
  try {
    const u = new URL(url)
    if (u.password !== '') u.password = '***'
    return u.href
  } catch {
    return '(unparseable proxy URL)'
  }
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
