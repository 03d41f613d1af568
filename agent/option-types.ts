/**
 * The typed, validated options every command runs with. `agent/options.ts` builds them from
 * flags, `OUTBRIDGE_*` environment variables and the `--config` JSON file; the library only
 * ever sees these objects, never `process.argv`.
 */

/** pino level names accepted by `--log-level`. */
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'

/** What `agent`, `test-connection` and `run-once` need to reach and authenticate to the cloud. */
export interface ConnectionOptions {
  /** `ws://` or `wss://` URL of the cloud's agent endpoint. */
  readonly cloudUrl: string
  readonly clientId: string
  /** The client secret (client_secret_jwt); from `--client-secret` or `--client-secret-file`. */
  readonly clientSecret?: string
  /** PEM private key file for private_key_jwt (ES256 or EdDSA); an alternative to the secret. */
  readonly privateKeyFile?: string
  /** Bridge name shown in the cloud. @default os.hostname() */
  readonly name: string
  /** Extra CA bundle (PEM) trusted for the cloud connection. */
  readonly caFile?: string
  /** Skip TLS verification of the cloud (logged as a warning). @default false */
  readonly insecure: boolean
  /** Outbound HTTP proxy for the cloud connection; else HTTPS_PROXY/HTTP_PROXY/NO_PROXY apply. */
  readonly proxy?: string
  /** Where the bridge keeps its state. @default ~/.outbridge */
  readonly dataDir: string
  /** @default 'info' ('debug' with -d) */
  readonly logLevel: LogLevel
  /** Time allowed for TCP + TLS + WebSocket upgrade, in ms. @default 10_000 */
  readonly handshakeTimeout: number
  /** Heartbeat period in ms; a peer silent for two periods is considered dead. @default 10_000 */
  readonly heartbeatInterval: number
  /** Lifetime of each signed login token, in seconds. @default 60 */
  readonly tokenTtl: number
}

/** `outbridge agent`. */
export interface AgentOptions extends ConnectionOptions {
  /** Target rules (`host`, `host:port`, `*.suffix`, CIDR, `*`). @default [] (nothing allowed) */
  readonly allow: readonly string[]
  /** Serve /healthz and /metrics on 127.0.0.1 at this port. */
  readonly healthPort?: number
  /** Max request or response body, each way, in bytes. @default 1 GiB */
  readonly maxBodyBytes: number
  /** Max concurrent streams (calls) on the tunnel. @default 1024 */
  readonly maxStreams: number
  /** Largest WebSocket message accepted from the cloud (ws maxPayload), in bytes. @default 1_052_672 */
  readonly maxMessageBytes: number
  /** Most headers in a request or response. @default 100 */
  readonly maxHeaders: number
  /** Largest header block of a request or response, in bytes. @default 65_536 */
  readonly maxHeaderBytes: number
  /** Default per-call timeout in ms when the call names none. @default 30_000 */
  readonly requestTimeout: number
  /** Follow redirects (every hop checked against the rules). @default false */
  readonly followRedirects: boolean
  /** Bounded wait for in-flight calls on SIGTERM/SIGINT, in ms. @default 30_000 */
  readonly drainTimeout: number
}

/** `outbridge mock-cloud`. */
export interface MockCloudOptions {
  /** @default '127.0.0.1' */
  readonly host: string
  /** @default 8080; 0 picks a free port */
  readonly port: number
  /** Bridges allowed to connect, from repeatable `--client ID:SECRET`. */
  readonly clients: ReadonlyArray<{ readonly id: string, readonly secret: string }>
  readonly tlsCert?: string
  readonly tlsKey?: string
  /** Bearer token required by the HTTP API and admin page. */
  readonly apiToken?: string
  /** @default 'info' */
  readonly logLevel: LogLevel
  /** Max body each way, in bytes. @default 1 GiB */
  readonly maxBodyBytes: number
  /** Heartbeat period in ms. @default 10_000 */
  readonly heartbeatInterval: number
  /** Largest WebSocket message accepted from a bridge (ws maxPayload), in bytes. @default 1_052_672 */
  readonly maxMessageBytes: number
  /** End each session when its token expires (close code 4003). @default false */
  readonly reauth: boolean
}
