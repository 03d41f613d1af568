/**
 * The one options module: frozen defaults, and pure functions that merge parsed flags, the
 * `OUTBRIDGE_*` environment and the `--config` JSON object (precedence flag > env > file >
 * default) into validated typed options. No yargs, no `process.argv`: the CLI passes them in.
 */
import { readFile } from 'node:fs/promises'
import { BlockList, isIP } from 'node:net'
import { join } from 'node:path'
import type { AgentOptions, ConnectionOptions, LogLevel, MockCloudOptions } from './option-types.js'
import type { CredentialType } from './credentials.js'
import type { Frequency } from './run-once.js'
import { validateRule } from './target-rule.js'
import { redactUrl } from './redact.js'
import { flagName, LAYERS, OptionsError, readBool, readInt, readList, readOneOf, readRequired, readString, readStringFrom, readUrl } from './option-sources.js'
import type { OptionSources } from './option-sources.js'

export { OptionsError, envName, flagName, parseConfigFile } from './option-sources.js'
export type { OptionSources } from './option-sources.js'

/** Values of `--log-level`. */
export const LOG_LEVELS: readonly LogLevel[] = Object.freeze(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
/** Values of `run-once --frequency`. */
export const FREQUENCIES: readonly Frequency[] = Object.freeze(['hourly', 'daily', 'weekly', 'monthly'])
/** Values of `credentials set --type`. */
export const CREDENTIAL_TYPES: readonly CredentialType[] = Object.freeze(['bearer', 'basic', 'header'])

/** Defaults of `agent`, `test-connection` and `run-once`; `name` defaults to the host name. */
export const AGENT_DEFAULTS = Object.freeze({
  insecure: false,
  dataDir: '~/.outbridge',
  logLevel: 'info' as LogLevel,
  handshakeTimeout: 10_000,
  tokenTtl: 60,
  heartbeatInterval: 10_000,
  allow: Object.freeze([]) as readonly string[],
  maxBodyBytes: 1_073_741_824,
  maxStreams: 1024,
  maxMessageBytes: 1_052_672,
  maxHeaders: 100,
  maxHeaderBytes: 65_536,
  requestTimeout: 30_000,
  followRedirects: false,
  drainTimeout: 30_000
})

/** Defaults of `mock-cloud`. */
export const MOCK_CLOUD_DEFAULTS = Object.freeze({
  host: '127.0.0.1',
  port: 8080,
  clients: Object.freeze([]) as MockCloudOptions['clients'],
  logLevel: 'info' as LogLevel,
  maxBodyBytes: 1_073_741_824,
  heartbeatInterval: 10_000,
  maxMessageBytes: 1_052_672,
  reauth: false
})

const CONNECTION_KEYS = ['cloudUrl', 'clientId', 'clientSecret', 'clientSecretFile', 'privateKeyFile', 'name', 'caFile',
  'insecure', 'proxy', 'dataDir', 'logLevel', 'debug', 'handshakeTimeout', 'heartbeatInterval', 'tokenTtl'] as const
const AGENT_ONLY_KEYS = ['allow', 'healthPort', 'maxBodyBytes', 'maxStreams', 'maxMessageBytes', 'maxHeaders', 'maxHeaderBytes', 'requestTimeout', 'followRedirects', 'drainTimeout'] as const

/**
 * The keys a `--config` file may hold, per command family. One file serves `agent`,
 * `test-connection`, `run-once`, `credentials` and `install-service` alike, so each of them
 * accepts every key of the family and ignores the ones it does not use.
 */
export const CONFIG_KEYS = Object.freeze({
  agent: new Set<string>([...CONNECTION_KEYS, ...AGENT_ONLY_KEYS, 'frequency', 'job', 'user']) as ReadonlySet<string>,
  mockCloud: new Set<string>(['host', 'port', 'client', 'tlsCert', 'tlsKey', 'apiToken', 'logLevel', 'debug',
    'maxBodyBytes', 'heartbeatInterval', 'maxMessageBytes', 'reauth']) as ReadonlySet<string>
})

/** Values from the machine that the defaults depend on, passed in to keep resolution pure. */
export interface HostInfo {
  /** Default bridge `name`. */
  readonly hostname: string
  /** What `~` expands to in paths. */
  readonly homedir: string
}

/** Connection options before the secret file is read: `clientSecretFile` is kept to print it. */
export type ResolvedConnectionOptions = ConnectionOptions & { readonly clientSecretFile?: string }
export type ResolvedAgentOptions = AgentOptions & { readonly clientSecretFile?: string }
export type RunOnceOptions = ResolvedAgentOptions & { readonly frequency: Frequency, readonly job?: string }
export interface CredentialFlags { readonly type: CredentialType, readonly username?: string, readonly headerName?: string }

const SECRET_KEYS = ['clientSecret', 'clientSecretFile', 'privateKeyFile'] as const
const LOOPBACK = new BlockList()
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4')
LOOPBACK.addAddress('::1', 'ipv6')

function expandHome (path: string, host: HostInfo): string {
  if (path === '~') return host.homedir
  return path.startsWith('~/') ? join(host.homedir, path.slice(2)) : path
}

function readPath (s: OptionSources, key: string, host: HostInfo): string | undefined {
  const path = readString(s, key)
  return path === undefined ? undefined : expandHome(path, host)
}

/** `-d` makes the level at least `debug`; `--log-level trace` stays `trace`. */
function resolveLogLevel (s: OptionSources, fallback: LogLevel): LogLevel {
  const level = readOneOf(s, 'logLevel', LOG_LEVELS) ?? fallback
  return readBool(s, 'debug') === true && level !== 'trace' ? 'debug' : level
}

/**
 * The secret, secret file and private key file are one setting in three forms: the highest
 * source that gives any of them decides, and giving two forms in that source is an error.
 */
function resolveSecret (s: OptionSources, host: HostInfo): Pick<ResolvedConnectionOptions, (typeof SECRET_KEYS)[number]> {
  for (const layer of LAYERS) {
    const given = SECRET_KEYS.filter((key) => readStringFrom(s, layer, key) !== undefined)
    if (given.length > 1) throw new OptionsError(flagName(given[1]), `conflicts with ${flagName(given[0])}: give only one`)
    const key = given[0]
    if (key === undefined) continue
    const value = readStringFrom(s, layer, key) as string
    return { [key]: key === 'clientSecret' ? value : expandHome(value, host) }
  }
  throw new OptionsError('--client-secret', 'is required (or --client-secret-file, or --private-key-file)')
}

/** Options shared by `agent`, `test-connection` and `run-once`. @throws OptionsError */
export function resolveConnectionOptions (s: OptionSources, host: HostInfo): ResolvedConnectionOptions {
  const d = AGENT_DEFAULTS
  const cloudUrl = readUrl(s, 'cloudUrl', ['ws:', 'wss:'])
  if (cloudUrl === undefined) throw new OptionsError('--cloud-url', 'is required')
  return {
    cloudUrl,
    clientId: readRequired(s, 'clientId'),
    ...resolveSecret(s, host),
    name: readString(s, 'name') ?? host.hostname,
    caFile: readPath(s, 'caFile', host),
    insecure: readBool(s, 'insecure') ?? d.insecure,
    proxy: readUrl(s, 'proxy', ['http:', 'https:']),
    dataDir: resolveDataDir(s, host),
    logLevel: resolveLogLevel(s, d.logLevel),
    handshakeTimeout: readInt(s, 'handshakeTimeout', 1) ?? d.handshakeTimeout,
    tokenTtl: readInt(s, 'tokenTtl', 1, 300) ?? d.tokenTtl,
    heartbeatInterval: readInt(s, 'heartbeatInterval', 1) ?? d.heartbeatInterval
  }
}

/** `--data-dir` with `~` expanded. @param fallback @default AGENT_DEFAULTS.dataDir */
export function resolveDataDir (s: OptionSources, host: HostInfo, fallback: string = AGENT_DEFAULTS.dataDir): string {
  return expandHome(readString(s, 'dataDir') ?? fallback, host)
}

/** `install-service`: the service user and data dir (defaults from the service module), `--dry-run`. */
export function resolveServiceFlags (
  s: OptionSources, host: HostInfo, defaults: { readonly user: string, readonly dataDir: string }
): { readonly user: string, readonly dataDir: string, readonly dryRun: boolean } {
  // --dry-run is flag-only: an inherited OUTBRIDGE_DRY_RUN must not silently skip the install.
  const dryRun = readBool({ flags: s.flags, env: {}, file: {} }, 'dryRun') ?? false
  return { user: readString(s, 'user') ?? defaults.user, dataDir: resolveDataDir(s, host, defaults.dataDir), dryRun }
}

/** `outbridge agent`: connection options plus target rules and limits. @throws OptionsError */
export function resolveAgentOptions (s: OptionSources, host: HostInfo): ResolvedAgentOptions {
  const d = AGENT_DEFAULTS
  const allow = readList(s, 'allow') ?? d.allow
  for (const rule of allow) {
    const problem = validateRule(rule)
    if (problem !== undefined) throw new OptionsError('--allow', `has an ${problem}`)
  }
  return {
    ...resolveConnectionOptions(s, host),
    allow,
    healthPort: readInt(s, 'healthPort', 0, 65_535),
    maxBodyBytes: readInt(s, 'maxBodyBytes', 0) ?? d.maxBodyBytes,
    maxStreams: readInt(s, 'maxStreams', 0) ?? d.maxStreams,
    maxMessageBytes: readInt(s, 'maxMessageBytes', 4096, 64 * 1024 * 1024) ?? d.maxMessageBytes,
    maxHeaders: readInt(s, 'maxHeaders', 1, 10_000) ?? d.maxHeaders,
    maxHeaderBytes: readInt(s, 'maxHeaderBytes', 1024, 1024 * 1024) ?? d.maxHeaderBytes,
    requestTimeout: readInt(s, 'requestTimeout', 1) ?? d.requestTimeout,
    followRedirects: readBool(s, 'followRedirects') ?? d.followRedirects,
    drainTimeout: readInt(s, 'drainTimeout', 1) ?? d.drainTimeout
  }
}

/** `outbridge run-once`: the agent's options (a cron run reaches targets too) plus `--frequency` (required) and `--job`. */
export function resolveRunOnceOptions (s: OptionSources, host: HostInfo): RunOnceOptions {
  const frequency = readOneOf(s, 'frequency', FREQUENCIES)
  if (frequency === undefined) throw new OptionsError('--frequency', `is required: ${FREQUENCIES.join(', ')}`)
  return { ...resolveAgentOptions(s, host), frequency, job: readString(s, 'job') }
}

/** The per-entry flags of `credentials set`; only `--type` is checked here, the store checks the rest. */
export function resolveCredentialFlags (flags: OptionSources['flags']): CredentialFlags {
  const s: OptionSources = { flags, env: {}, file: {} }
  const type = readOneOf(s, 'type', CREDENTIAL_TYPES)
  if (type === undefined) throw new OptionsError('--type', `is required: ${CREDENTIAL_TYPES.join(', ')}`)
  return { type, username: readString(s, 'username'), headerName: readString(s, 'headerName') }
}

/** True for 127.0.0.0/8, ::1 (also IPv4-mapped) and `localhost`. */
export function isLoopbackHost (host: string): boolean {
  if (host.toLowerCase() === 'localhost') return true
  const family = isIP(host)
  return family !== 0 && LOOPBACK.check(host, family === 4 ? 'ipv4' : 'ipv6')
}

function parseClient (entry: string): { readonly id: string, readonly secret: string } {
  const colon = entry.indexOf(':')
  if (colon <= 0 || colon === entry.length - 1) throw new OptionsError('--client', 'entries must be ID:SECRET with both parts non-empty')
  return Object.freeze({ id: entry.slice(0, colon), secret: entry.slice(colon + 1) })
}

/** `outbridge mock-cloud`. Refuses a non-loopback `--host` without `--api-token`. @throws OptionsError */
export function resolveMockCloudOptions (s: OptionSources, host: HostInfo): MockCloudOptions {
  const d = MOCK_CLOUD_DEFAULTS
  const listenHost = readString(s, 'host') ?? d.host
  const apiToken = readString(s, 'apiToken')
  if (apiToken === undefined && !isLoopbackHost(listenHost)) {
    throw new OptionsError('--api-token', `is required when --host is not a loopback address (${listenHost}): the API reaches into private networks`)
  }
  const tlsCert = readPath(s, 'tlsCert', host)
  const tlsKey = readPath(s, 'tlsKey', host)
  if ((tlsCert === undefined) !== (tlsKey === undefined)) {
    throw new OptionsError(tlsCert === undefined ? '--tls-key' : '--tls-cert', `needs ${tlsCert === undefined ? '--tls-cert' : '--tls-key'} too`)
  }
  return {
    host: listenHost,
    port: readInt(s, 'port', 0, 65_535) ?? d.port,
    clients: readList(s, 'client')?.map(parseClient) ?? d.clients,
    tlsCert,
    tlsKey,
    apiToken,
    logLevel: resolveLogLevel(s, d.logLevel),
    maxBodyBytes: readInt(s, 'maxBodyBytes', 0) ?? d.maxBodyBytes,
    heartbeatInterval: readInt(s, 'heartbeatInterval', 1) ?? d.heartbeatInterval,
    maxMessageBytes: readInt(s, 'maxMessageBytes', 4096, 64 * 1024 * 1024) ?? d.maxMessageBytes,
    reauth: readBool(s, 'reauth') ?? d.reauth
  }
}

/** Reads `clientSecretFile` (one trailing newline trimmed) into `clientSecret`. @throws OptionsError */
export async function loadSecretFile<T extends ResolvedConnectionOptions> (options: T): Promise<T> {
  const path = options.clientSecretFile
  if (path === undefined) return options
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    const code = (err as { code?: unknown }).code
    throw new OptionsError('--client-secret-file', `cannot read ${path} (${typeof code === 'string' ? code : 'I/O error'})`)
  }
  const clientSecret = text.replace(/\r?\n$/, '')
  if (clientSecret === '') throw new OptionsError('--client-secret-file', `${path} is empty`)
  return { ...options, clientSecret }
}

/** A copy safe to print or log: secrets become `***`; file paths (the secret file's too) stay. */
export function printableOptions (options: ResolvedConnectionOptions | MockCloudOptions | RunOnceOptions): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(options)) {
    if (value === undefined) continue
    if (key === 'clientSecret' || key === 'apiToken') out[key] = '***'
    else if (key === 'clients') out[key] = (value as MockCloudOptions['clients']).map(({ id }) => ({ id, secret: '***' }))
    else if (key === 'proxy') out[key] = redactUrl(String(value))
    else out[key] = value
  }
  return out
}
