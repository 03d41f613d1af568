/**
 * How the agent's WebSocket to the cloud is built: a ws subclass that reconnecting-websocket can
 * construct with (url, protocols) alone, carrying what RWS cannot pass: the Authorization header
 * (a fresh token per attempt), the proxy agent, TLS trust, and the payload limit.
 */
import type { Agent as HttpAgent } from 'node:http'
import { rootCertificates } from 'node:tls'
import { readFileSync } from 'node:fs'
import { HttpsProxyAgent } from 'https-proxy-agent'
import { getProxyForUrl } from 'proxy-from-env'
import WebSocket from 'ws'

export interface CloudSocketOptions {
  /** Returns the Authorization header value for the attempt being made. */
  readonly authorization: () => string
  readonly proxyAgent?: HttpAgent
  /** Trusted CAs (system roots plus --ca-file), or undefined for the defaults. */
  readonly ca?: readonly string[]
  readonly insecure: boolean
  readonly maxPayload: number
  readonly handshakeTimeout: number
  readonly userAgent: string
}

export type CloudSocketClass = new (url: string, protocols?: string | string[]) => WebSocket

/** A WebSocket class bound to `options`, for RWS's `WebSocket` option. */
export function cloudSocketClass (options: CloudSocketOptions): CloudSocketClass {
  return class CloudSocket extends WebSocket {
    constructor (url: string, protocols?: string | string[]) {
      super(url, protocols, {
        headers: { authorization: options.authorization(), 'user-agent': options.userAgent },
        agent: options.proxyAgent,
        ca: options.ca as string[] | undefined,
        rejectUnauthorized: !options.insecure,
        perMessageDeflate: false,
        maxPayload: options.maxPayload,
        handshakeTimeout: options.handshakeTimeout,
        followRedirects: false
      })
    }
  }
}

/** System roots plus the PEM bundle in `caFile`; undefined when there is no extra bundle. */
export function trustedCas (caFile: string | undefined): string[] | undefined {
  if (caFile === undefined) return undefined
  return [...rootCertificates, readFileSync(caFile, 'utf8')]
}

/**
 * The proxy for the cloud connection: `--proxy` when given, else HTTPS_PROXY / HTTP_PROXY from
 * the environment (ws:// counts as http, wss:// as https) unless NO_PROXY covers the cloud's host.
 */
export function proxyFor (cloudUrl: string, explicit: string | undefined): string | undefined {
  if (explicit !== undefined && explicit !== '') return explicit
  const url = new URL(cloudUrl)
  url.protocol = url.protocol === 'wss:' ? 'https:' : 'http:'
  const fromEnv = getProxyForUrl(url.href)
  return fromEnv === '' ? undefined : fromEnv
}

/** An agent that tunnels through `proxyUrl` with HTTP CONNECT (user:password in the URL is sent as Basic auth). */
export function proxyAgentFor (proxyUrl: string | undefined, ca: readonly string[] | undefined, insecure: boolean): HttpAgent | undefined {
  if (proxyUrl === undefined) return undefined
  return new HttpsProxyAgent(proxyUrl, { ca: ca as string[] | undefined, rejectUnauthorized: !insecure, keepAlive: false }) as unknown as HttpAgent
}
