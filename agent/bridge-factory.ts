/**
 * Builds a Bridge from validated options: key, target policy, executor, credential store, TLS
 * trust and proxy. Shared by `agent`, `npm start` and the tests.
 */
import { limitsFor } from '../protocol/version.js'
import { loadAgentKey, signAgentToken, audienceOf } from './auth.js'
import { Bridge } from './bridge.js'
import { trustedCas, proxyAgentFor, proxyFor } from './cloud-socket.js'
import { CredentialStore } from './credentials.js'
import { createExecutor } from './executor.js'
import { JOBS_CAPABILITY } from '../protocol/job-frames.js'
import { openJobClient } from './jobs/job-setup.js'
import type { Logger } from './logger.js'
import type { AgentOptions } from './option-types.js'
import { OptionsError } from './option-sources.js'
import { VERSION } from './package-info.js'
import { TargetPolicy } from './policy.js'
import { redactUrl } from './redact.js'

export async function createBridge (options: AgentOptions, log: Logger): Promise<Bridge> {
  const key = await loadAgentKey({ clientSecret: options.clientSecret, privateKeyFile: options.privateKeyFile })
  const audience = audienceOf(options.cloudUrl)
  const policy = new TargetPolicy(options.allow)
  const executor = createExecutor({ connectTimeout: 10_000, maxHeaderSize: options.maxHeaderBytes })
  let store: CredentialStore | undefined
  const credentialHeader = async (name: string): Promise<readonly [string, string] | undefined> => {
    store ??= await CredentialStore.open(options.dataDir)
    await store.refresh()
    return store.headerFor(name)
  }
  const ca = readOptionFile('--ca-file', options.caFile, trustedCas)
  if (options.insecure) log.warn({ bridge: options.name }, '--insecure: the cloud\'s TLS certificate is NOT verified')
  const proxy = proxyFor(options.cloudUrl, options.proxy)
  if (proxy !== undefined) log.info({ bridge: options.name, proxy: redactUrl(proxy) }, 'using a proxy for the cloud connection')
  const limits = { ...limitsFor(options.maxMessageBytes), maxStreams: options.maxStreams, maxBodyBytes: options.maxBodyBytes }
  const jobs = await openJobClient(options, log, { policy, executor, credentialHeader })
  return new Bridge({
    name: options.name,
    log,
    limits,
    agentVersion: VERSION,
    capabilities: [JOBS_CAPABILITY],
    jobs,
    heartbeatInterval: options.heartbeatInterval,
    handshakeTimeout: options.handshakeTimeout,
    socket: {
      url: options.cloudUrl,
      token: () => signAgentToken(key, options.clientId, audience, { ttlSeconds: options.tokenTtl }),
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
      headerLimits: { maxCount: options.maxHeaders, maxBytes: options.maxHeaderBytes },
      maxBodyBytes: options.maxBodyBytes,
      defaultTimeout: options.requestTimeout,
      followRedirects: options.followRedirects
    }
  })
}

/** Reads a file named by a flag; a missing or unreadable one is an OptionsError naming the flag. */
export function readOptionFile<T> (flag: string, path: string | undefined, read: (path: string | undefined) => T): T {
  try {
    return read(path)
  } catch (err) {
    const code = (err as { code?: unknown }).code
    throw new OptionsError(flag, `cannot read ${String(path)} (${typeof code === 'string' ? code : (err as Error).message})`)
  }
}
