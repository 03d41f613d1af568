/**
 * `outbridge <command>`: parses the command line (yargs, in `cli-commands.ts`), resolves options
 * (`options.ts`) and calls the command's library function, loaded only when that command runs.
 * Usage and option errors print one line on stderr and give exit code 2.
 */
import { readFile } from 'node:fs/promises'
import { hostname, homedir } from 'node:os'
import { parseCommandLine, UsageError } from './cli-commands.js'
import type { CommandName } from './cli-commands.js'
import {
  CONFIG_KEYS, OptionsError, loadSecretFile, parseConfigFile, printableOptions, resolveAgentOptions,
  resolveConnectionOptions, resolveCredentialFlags, resolveDataDir, resolveMockCloudOptions, resolveRunOnceOptions,
  resolveServiceFlags
} from './options.js'
import type { HostInfo, OptionSources } from './options.js'
import { VERSION } from './package-info.js'
import { applyV8Flags } from './v8-flags.js'

/** The process's streams and environment, passed in so the CLI can run inside a test. */
export interface CliIo {
  readonly stdin: NodeJS.ReadableStream
  readonly stdout: NodeJS.WritableStream
  readonly stderr: NodeJS.WritableStream
  readonly env: NodeJS.ProcessEnv
  /** Absolute path of the executable script, written into the systemd unit. */
  readonly cliPath: string
}

interface Invocation {
  readonly sources: OptionSources
  readonly host: HostInfo
  /** Positional NAME of `credentials set|remove`. */
  readonly name: string
  readonly io: CliIo
}

type Handler = (call: Invocation) => Promise<number>

/** Writes the redacted options to stderr at debug level (stdout of `agent` is pino JSON only). */
function traceOptions (io: CliIo, options: Parameters<typeof printableOptions>[0]): void {
  if (options.logLevel === 'debug' || options.logLevel === 'trace') {
    io.stderr.write(`outbridge: options ${JSON.stringify(printableOptions(options))}\n`)
  }
}

const HANDLERS: Readonly<Record<CommandName, Handler>> = {
  async agent ({ sources, host, io }) {
    const options = await loadSecretFile(resolveAgentOptions(sources, host))
    traceOptions(io, options)
    applyV8Flags('agent')
    const { runAgent } = await import('./run-agent.js')
    return await runAgent(options)
  },
  async 'test-connection' ({ sources, host, io }) {
    const options = await loadSecretFile(resolveConnectionOptions(sources, host))
    traceOptions(io, options)
    const { testConnection } = await import('./test-connection.js')
    return await testConnection(options, io.stdout)
  },
  async 'run-once' ({ sources, host, io }) {
    const options = await loadSecretFile(resolveRunOnceOptions(sources, host))
    traceOptions(io, options)
    const { runOnce } = await import('./run-once.js')
    return await runOnce(options, io.stdout)
  },
  async 'mock-cloud' ({ sources, host, io }) {
    const options = resolveMockCloudOptions(sources, host)
    traceOptions(io, options)
    applyV8Flags('mock-cloud')
    const { runMockCloud } = await import('../mock-cloud/run.js')
    return await runMockCloud(options)
  },
  async 'credentials set' ({ sources, host, name, io }) {
    const entry = resolveCredentialFlags(sources.flags)
    const { credentialsSet } = await import('./credentials-cli.js')
    return await credentialsSet(resolveDataDir(sources, host), name, entry, io.stdin, io.stdout, io.env)
  },
  async 'credentials list' ({ sources, host, io }) {
    const { credentialsList } = await import('./credentials-cli.js')
    return await credentialsList(resolveDataDir(sources, host), io.stdout, io.env)
  },
  async 'credentials remove' ({ sources, host, name, io }) {
    const { credentialsRemove } = await import('./credentials-cli.js')
    return await credentialsRemove(resolveDataDir(sources, host), name, io.stdout, io.env)
  },
  async 'install-service' ({ sources, host, io }) {
    const { renderService, installService, ServiceInstallError, SERVICE_DEFAULTS } = await import('./service-install.js')
    const { user, dataDir, dryRun } = resolveServiceFlags(sources, host, SERVICE_DEFAULTS)
    const env = Object.fromEntries(Object.entries(io.env).filter((entry): entry is [string, string] => entry[1] !== undefined))
    let files
    try {
      files = renderService({ execPath: process.execPath, cliPath: io.cliPath, user, dataDir, env })
    } catch (err) {
      if (!(err instanceof ServiceInstallError)) throw err
      io.stderr.write(`outbridge: ${err.message}\n`)
      return 2
    }
    return await installService(files, { dryRun, out: io.stdout })
  }
}

/** The `--config` file (flag, else `OUTBRIDGE_CONFIG`), checked against the command's keys. */
async function loadConfigFile (command: CommandName, flags: OptionSources['flags'], env: CliIo['env']): Promise<Record<string, unknown>> {
  const path = typeof flags.config === 'string' ? flags.config : env.OUTBRIDGE_CONFIG
  if (path === undefined || path === '') return {}
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    const code = (err as { code?: unknown }).code
    throw new OptionsError('--config', `cannot read ${path} (${typeof code === 'string' ? code : 'I/O error'})`)
  }
  return parseConfigFile(text, path, command === 'mock-cloud' ? CONFIG_KEYS.mockCloud : CONFIG_KEYS.agent)
}

/** Codes of errors caused by the user's configuration (a key, a rule, a file): exit 2. */
const CONFIG_ERROR_CODES: ReadonlySet<string> = new Set(['INVALID_KEY', 'INVALID_AUDIENCE', 'INVALID_RULE', 'INVALID_OPTION', 'INVALID_CREDENTIAL'])

function isConfigError (err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' && CONFIG_ERROR_CODES.has(code)
}

/**
 * Runs `outbridge` with `args` (without `node` and the script path).
 * @returns the exit code: the command's own, 2 for bad usage or options, 1 for an unexpected error
 */
export async function main (args: readonly string[], io: CliIo): Promise<number> {
  try {
    const parsed = parseCommandLine(args, VERSION)
    if (parsed.kind === 'output') {
      io.stdout.write(`${parsed.text}\n`)
      return 0
    }
    const { config: _config, ...flags } = parsed.flags
    const file = await loadConfigFile(parsed.command, parsed.flags, io.env)
    const host = { hostname: hostname(), homedir: homedir() }
    return await HANDLERS[parsed.command]({ sources: { flags, env: io.env, file }, host, name: parsed.name ?? '', io })
  } catch (err) {
    if (err instanceof UsageError || err instanceof OptionsError || isConfigError(err)) {
      io.stderr.write(`outbridge: ${(err as Error).message}\n`)
      return 2
    }
    // A bug, not a user mistake: one line for the user; the stack only with OUTBRIDGE_DEBUG_STACK.
    const detail = err instanceof Error ? (io.env.OUTBRIDGE_DEBUG_STACK === '1' ? err.stack ?? err.message : err.message) : String(err)
    io.stderr.write(`outbridge: unexpected error: ${detail}\n`)
    return 1
  }
}
