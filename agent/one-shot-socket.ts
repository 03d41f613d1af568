/**
 * A single WebSocket attempt to the cloud with the agent's exact settings (key, proxy, CA), for
 * the commands that connect once and never retry: `test-connection` and `run-once`.
 */
import type WebSocket from 'ws'
import { PROTOCOL_VERSIONS, subprotocolOf } from '../protocol/version.js'
import { audienceOf, loadAgentKey, signAgentToken } from './auth.js'
import { readOptionFile } from './bridge-factory.js'
import { cloudSocketClass, proxyAgentFor, proxyFor, trustedCas } from './cloud-socket.js'
import type { ConnectionOptions } from './option-types.js'
import { VERSION } from './package-info.js'

/** Signs a token and starts the upgrade; listen for 'open', 'error' and 'close' on the result. */
export async function openCloudSocket (options: ConnectionOptions, maxPayload: number): Promise<WebSocket> {
  const key = await loadAgentKey({ clientSecret: options.clientSecret, privateKeyFile: options.privateKeyFile })
  const token = await signAgentToken(key, options.clientId, audienceOf(options.cloudUrl), { ttlSeconds: options.tokenTtl })
  const ca = readOptionFile('--ca-file', options.caFile, trustedCas)
  const Socket = cloudSocketClass({
    authorization: () => `Bearer ${token}`,
    proxyAgent: proxyAgentFor(proxyFor(options.cloudUrl, options.proxy), ca, options.insecure),
    ca,
    insecure: options.insecure,
    maxPayload,
    handshakeTimeout: options.handshakeTimeout,
    userAgent: `outbridge/${VERSION}`
  })
  return new Socket(options.cloudUrl, PROTOCOL_VERSIONS.map(subprotocolOf))
}
