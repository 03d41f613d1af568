/**
 * The yargs command definitions: flags, help text and examples. yargs only parses here; no
 * defaults are given to it (help shows them), so `agent/options.ts` can tell an unset flag from
 * a default and apply env and config file values in between.
 */
import yargs from 'yargs'
import type { Argv, Options } from 'yargs'
import { SERVICE_DEFAULTS } from './service-install.js'
import { AGENT_DEFAULTS as A, CREDENTIAL_TYPES, FREQUENCIES, LOG_LEVELS, MOCK_CLOUD_DEFAULTS as M } from './options.js'

export type CommandName = 'agent' | 'test-connection' | 'mock-cloud' | 'run-once' | 'install-service' |
  'credentials set' | 'credentials list' | 'credentials remove'

/** What the command line asks for. */
export type ParsedCommandLine =
  | { readonly kind: 'command', readonly command: CommandName, readonly flags: Readonly<Record<string, unknown>>, readonly name?: string }
  /** `--help` or `--version`: print `text`, exit 0. */
  | { readonly kind: 'output', readonly text: string }

/** A usage error (unknown command or flag, missing argument): one line, exit 2. */
export class UsageError extends Error {
  readonly code = 'USAGE'
  constructor (message: string) {
    super(message)
    this.name = 'UsageError'
  }
}

const str = (describe: string, extra: Options = {}): Options => ({ type: 'string', requiresArg: true, describe, ...extra })
// Untyped, with number parsing off: the digits reach options.ts as text, and help shows no type.
const int = (describe: string, fallback?: number): Options =>
  ({ requiresArg: true, describe, ...(fallback === undefined ? {} : { defaultDescription: String(fallback) }) })

const LOGGING: Record<string, Options> = {
  'log-level': str(`log level: ${LOG_LEVELS.join(', ')}`, { defaultDescription: A.logLevel }),
  debug: { type: 'boolean', alias: 'd', describe: 'log at debug level (at least)' }
}

const CONNECTION: Record<string, Options> = {
  'cloud-url': str('ws:// or wss:// URL of the cloud agent endpoint (required)'),
  'client-id': str('API access key id issued by the cloud (required)'),
  'client-secret': str('API access key secret'),
  'client-secret-file': str('read the client secret from this file'),
  'private-key-file': str('PEM private key (ES256 or EdDSA) for private_key_jwt, instead of a secret'),
  name: str('bridge name shown in the cloud', { defaultDescription: 'host name' }),
  'ca-file': str('extra CA bundle (PEM) for the cloud connection'),
  insecure: { type: 'boolean', describe: 'skip TLS verification of the cloud (logged as a warning)' },
  proxy: str('http(s):// proxy for the cloud connection (else HTTPS_PROXY/HTTP_PROXY/NO_PROXY)'),
  'data-dir': str('state directory: credential store and its key, job outbox', { defaultDescription: A.dataDir }),
  'handshake-timeout': int('TCP + TLS + WebSocket upgrade timeout, ms', A.handshakeTimeout),
  'heartbeat-interval': int('heartbeat period, ms', A.heartbeatInterval),
  'token-ttl': int('lifetime of each signed login token, seconds (at most 300)', A.tokenTtl),
  ...LOGGING
}

const AGENT: Record<string, Options> = {
  allow: str('target rule, repeatable: host, host:port, *.suffix, CIDR or *', { defaultDescription: 'nothing allowed' }),
  'health-port': int('serve /healthz and /metrics on 127.0.0.1 at this port'),
  'max-body-bytes': int('largest body each way, bytes', A.maxBodyBytes),
  'max-streams': int('most concurrent calls on the tunnel', A.maxStreams),
  'max-message-bytes': int('largest WebSocket message accepted from the cloud, bytes', A.maxMessageBytes),
  'max-headers': int('most headers in a request or response', A.maxHeaders),
  'max-header-bytes': int('largest header block of a request or response, bytes', A.maxHeaderBytes),
  'request-timeout': int('per-call timeout when the call names none, ms', A.requestTimeout),
  'follow-redirects': { type: 'boolean', describe: 'follow redirects, checking every hop against the rules', defaultDescription: 'false' },
  'drain-timeout': int('wait for in-flight calls on SIGTERM/SIGINT, ms', A.drainTimeout)
}

const MOCK_CLOUD: Record<string, Options> = {
  host: str('listen address', { defaultDescription: M.host }),
  port: int('listen port; 0 picks a free one', M.port),
  client: str('bridge allowed to connect, repeatable: ID:SECRET'),
  'tls-cert': str('PEM certificate: serve https/wss (with --tls-key)'),
  'tls-key': str('PEM private key for --tls-cert'),
  'api-token': str('bearer token the HTTP API and admin page require (required off loopback)'),
  'max-body-bytes': int('largest body each way, bytes', M.maxBodyBytes),
  'heartbeat-interval': int('heartbeat period, ms', M.heartbeatInterval),
  'max-message-bytes': int('largest WebSocket message accepted from a bridge, bytes', M.maxMessageBytes),
  reauth: { type: 'boolean', describe: 'end each bridge session when its token expires (close code 4003); bridges reconnect at once', defaultDescription: 'false' },
  ...LOGGING
}

const DATA_DIR: Record<string, Options> = { 'data-dir': CONNECTION['data-dir'] as Options }
const CLOUD = '--cloud-url wss://cloud.example/agent --client-id acc-1 --client-secret-file ./secret'

type Select = (command: CommandName) => (argv: Record<string, unknown>) => void

function credentialsCommand (b: Argv, select: Select): Argv {
  const name = { type: 'string', describe: 'credential name (1-64 of A-Z a-z 0-9 . _ -)' } as const
  return b
    .command('set <name>', 'store a credential; the secret is read from stdin', (c) => c
      .positional('name', name)
      .options({
        ...DATA_DIR,
        type: str(`credential type: ${CREDENTIAL_TYPES.join(', ')} (required)`),
        username: str('user name, for --type basic'),
        'header-name': str('header to send, for --type header')
      })
      .example('printf %s "$TOKEN" | $0 credentials set crm --type bearer', 'a bearer token')
      .example('$0 credentials set erp --type basic --username svc < pw.txt', 'HTTP basic auth'), select('credentials set'))
    .command('list', 'print credential names and types, never secrets', (c) => c.options(DATA_DIR)
      .example('$0 credentials list --data-dir /var/lib/outbridge', 'one NAME TYPE line each'), select('credentials list'))
    .command('remove <name>', 'delete a credential', (c) => c.positional('name', name).options(DATA_DIR)
      .example('$0 credentials remove crm', 'forget credential crm'), select('credentials remove'))
    .demandCommand(1, 'credentials needs a subcommand: set, list or remove')
}

function defineCommands (y: Argv, select: Select): Argv {
  return y
    .command('agent', 'run the bridge', (b) => b.options({ ...CONNECTION, ...AGENT })
      .example(`$0 agent ${CLOUD} --allow 10.0.0.0/8`, 'bridge into 10.0.0.0/8')
      .example('OUTBRIDGE_ALLOW=10.0.0.5,*.corp.example $0 agent --config /etc/outbridge.json', 'rules from the environment'), select('agent'))
    .command('test-connection', 'connect, authenticate, measure one round trip, print a verdict', (b) => b.options(CONNECTION)
      .example(`$0 test-connection ${CLOUD}`, 'exit 0 ok, 2 usage, 3 credentials rejected, 4 unreachable'), select('test-connection'))
    .command('mock-cloud', 'run the test cloud', (b) => b.options(MOCK_CLOUD)
      .example('$0 mock-cloud --port 0 --client acc-1:s3cret', 'loopback, a free port, one bridge')
      .example('$0 mock-cloud --host 0.0.0.0 --api-token "$TOKEN" --tls-cert c.pem --tls-key k.pem', 'reachable from the network'), select('mock-cloud'))
    .command('credentials', 'manage local endpoint credentials (set, list, remove)', (b) => credentialsCommand(b, select))
    .command('run-once', 'cron mode: run the due sync jobs of one frequency, deliver results', (b) => b
      .options({
        ...CONNECTION,
        // A cron run reaches targets like the agent does: the same rules and limits.
        allow: AGENT.allow as Options,
        'request-timeout': AGENT['request-timeout'] as Options,
        'max-body-bytes': AGENT['max-body-bytes'] as Options,
        frequency: str(`which jobs: ${FREQUENCIES.join(', ')} (required)`),
        job: str('run only this job')
      })
      .example(`$0 run-once --frequency daily ${CLOUD} --allow 10.0.0.0/8`, 'the daily jobs; exit 0 all ok, 1 any failed'), select('run-once'))
    .command('install-service', 'write a systemd unit and its 0600 environment file', (b) => b
      .options({
        'data-dir': str('the service\'s state directory', { defaultDescription: SERVICE_DEFAULTS.dataDir }),
        user: str('system user the service runs as', { defaultDescription: SERVICE_DEFAULTS.user }),
        'dry-run': { type: 'boolean', describe: 'print the files (secrets as ***) instead of writing them' }
      })
      .example('OUTBRIDGE_CLOUD_URL=wss://cloud.example/agent ... $0 install-service --dry-run', 'carry OUTBRIDGE_* settings into the service'), select('install-service'))
}

/**
 * Parses `args` (no `node` and script path). Never prints and never exits.
 * @throws UsageError on an unknown command or flag, or a missing argument
 */
export function parseCommandLine (args: readonly string[], version: string): ParsedCommandLine {
  let chosen: ParsedCommandLine | undefined
  const select: Select = (command) => (argv) => {
    const { _: _positionals, $0: _script, name, ...flags } = argv
    chosen = command.startsWith('credentials')
      ? { kind: 'command', command, flags, name: typeof name === 'string' ? name : undefined }
      : { kind: 'command', command, flags: name === undefined ? flags : { ...flags, name } }
  }
  let text = ''
  const parser = defineCommands(yargs(), select)
    .scriptName('outbridge')
    .usage('$0 <command> [options]')
    .epilogue('Every flag also reads OUTBRIDGE_<FLAG_IN_UPPER_SNAKE> (repeatable flags comma-separated) and the --config file; precedence: flag > environment > config file > default.')
    .option('config', { type: 'string', requiresArg: true, global: true, describe: 'JSON file of options (camelCase keys)' })
    .parserConfiguration({ 'parse-numbers': false })
    .locale('en')
    .strict()
    .strictCommands()
    .demandCommand(1, 'a command is required (see --help)')
    .version(version)
    .help()
    .alias('h', 'help')
    .wrap(100)
    .exitProcess(false)
    .fail((message: string | null, err: Error | undefined) => { throw new UsageError(message ?? err?.message ?? 'bad usage') })
  parser.parse([...args], {}, (_err: Error | undefined, _argv: unknown, output: string) => { text = output })
  return chosen ?? { kind: 'output', text }
}
