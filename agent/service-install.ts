/**
 * `outbridge install-service [--dry-run]`: renders a hardened systemd unit and the 0600
 * environment file that holds the agent's settings (the only place its secrets are written).
 * It writes files and prints the commands to run next; it never runs systemctl itself.
 */
import { randomBytes } from 'node:crypto'
import { chmod, mkdir, open, rename, unlink } from 'node:fs/promises'
import { dirname, join, posix } from 'node:path'

/** The two files of the service, with their absolute install paths. */
export interface ServiceFiles {
  unitPath: string
  unit: string
  envPath: string
  env: string
  /** Shell commands the administrator runs after the files are in place. */
  nextSteps: readonly string[]
}

/** Defaults for the CLI: the dedicated user, its state directory and the install paths. */
export const SERVICE_DEFAULTS = Object.freeze({
  user: 'outbridge',
  dataDir: '/var/lib/outbridge',
  unitPath: '/etc/systemd/system/outbridge.service',
  envPath: '/etc/outbridge/outbridge.env'
})

/** A setting that cannot go into the unit or the environment file. */
export class ServiceInstallError extends Error {
  readonly code = 'INVALID_SERVICE_SETTING' as const
  constructor (message: string) {
    super(message)
    this.name = 'ServiceInstallError'
  }
}

// Settings whose values are replaced by *** in the dry-run output.
const SENSITIVE_NAME = /(SECRET|PASSWORD|TOKEN|CREDENTIALS_KEY)$/
// OUTBRIDGE_* settings, plus the proxy variables the agent honours without --proxy.
const CARRIED_NAME = /^(OUTBRIDGE_[A-Z0-9_]+|HTTPS?_PROXY|NO_PROXY|https?_proxy|no_proxy)$/
const USER_NAME = /^[a-z_][a-z0-9_-]{0,31}$/
const PLAIN_PATH = /^[A-Za-z0-9._/+-]+$/
// ProtectHome= and PrivateTmp= hide these from the service, so state cannot live there.
const HIDDEN_DIR = /^\/(home|root|run\/user|tmp|var\/tmp)(\/|$)/
const STATE_ROOT = '/var/lib/'

function checkAbsolute (value: string, option: string): void {
  if (!posix.isAbsolute(value) || /[\0-\x1f\x7f]/.test(value)) {
    throw new ServiceInstallError(`${option} must be an absolute path without control characters`)
  }
}

function checkInput (input: { execPath: string, cliPath: string, user: string, dataDir: string }): void {
  checkAbsolute(input.execPath, 'execPath')
  checkAbsolute(input.cliPath, 'cliPath')
  checkAbsolute(input.dataDir, '--data-dir')
  if (!USER_NAME.test(input.user)) throw new ServiceInstallError('the service user must be a plain system user name')
  const { dataDir } = input
  if (!PLAIN_PATH.test(dataDir) || posix.normalize(dataDir) !== dataDir || dataDir === '/' || dataDir.endsWith('/')) {
    throw new ServiceInstallError('--data-dir must be a normalized path of letters, digits and ._/+-')
  }
  if (HIDDEN_DIR.test(dataDir)) throw new ServiceInstallError(`--data-dir ${dataDir} is hidden from the service (ProtectHome/PrivateTmp)`)
}

/** One ExecStart= word: `%` and `$` doubled so systemd leaves them alone, quoted when needed. */
function execWord (value: string): string {
  const escaped = value.replaceAll('%', '%%').replaceAll('$', '$$$$')
  return /[\s"'\\]/.test(value) ? `"${escaped.replace(/[\\"]/g, '\\$&')}"` : escaped
}

/** A double-quoted value that systemd (>= 239) and POSIX sh both read back unchanged. */
function envValue (name: string, value: string): string {
  if (/[\r\n\0]/.test(value)) throw new ServiceInstallError(`${name} must not contain CR, LF or NUL`)
  return `"${value.replace(/[\\"$`]/g, '\\$&')}"`
}

function renderEnv (env: Readonly<Record<string, string>>, dataDir: string): string {
  const settings = new Map(Object.entries(env).filter(([name]) => CARRIED_NAME.test(name)))
  settings.set('OUTBRIDGE_DATA_DIR', dataDir)
  const lines = [...settings.keys()].sort().map((name) => `${name}=${envValue(name, settings.get(name) ?? '')}`)
  return [
    '# outbridge agent settings, read by systemd (EnvironmentFile=) when it starts outbridge.service.',
    '# Holds secrets: keep it owned by root with mode 0600.',
    ...lines,
    ''
  ].join('\n')
}

function stateDirectory (dataDir: string): string | undefined {
  return dataDir.startsWith(STATE_ROOT) ? dataDir.slice(STATE_ROOT.length) : undefined
}

function renderUnit (input: { execPath: string, cliPath: string, user: string, dataDir: string }, envPath: string): string {
  const state = stateDirectory(input.dataDir)
  return [
    '[Unit]',
    'Description=outbridge outbound tunnel relay agent',
    'Wants=network-online.target',
    'After=network-online.target',
    '',
    '[Service]',
    'Type=simple',
    `User=${input.user}`,
    `Group=${input.user}`,
    `EnvironmentFile=${envPath}`,
    `ExecStart=${execWord(input.execPath)} ${execWord(input.cliPath)} agent`,
    'Restart=on-failure',
    'RestartSec=5',
    'KillSignal=SIGTERM',
    'TimeoutStopSec=45',
    ...(state === undefined ? [] : [`StateDirectory=${state}`, 'StateDirectoryMode=0700']),
    `ReadWritePaths=${input.dataDir}`,
    'UMask=0077',
    'NoNewPrivileges=yes',
    'ProtectSystem=strict',
    'ProtectHome=yes',
    'PrivateTmp=yes',
    'PrivateDevices=yes',
    'ProtectKernelTunables=yes',
    'ProtectKernelModules=yes',
    'ProtectKernelLogs=yes',
    'ProtectControlGroups=yes',
    'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX',
    'RestrictNamespaces=yes',
    'RestrictRealtime=yes',
    'RestrictSUIDSGID=yes',
    'LockPersonality=yes',
    'SystemCallArchitectures=native',
    'CapabilityBoundingSet=',
    'AmbientCapabilities=',
    '# MemoryDenyWriteExecute is left off on purpose: the V8 JIT needs writable+executable memory.',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    ''
  ].join('\n')
}

function renderNextSteps (input: { execPath: string, cliPath: string, user: string, dataDir: string }): string[] {
  const { user, dataDir } = input
  return [
    `useradd --system --user-group --no-create-home --home-dir ${dataDir} --shell /usr/sbin/nologin ${user}`,
    ...(stateDirectory(dataDir) === undefined ? [`install -d -m 0700 -o ${user} -g ${user} ${dataDir}`] : []),
    'systemctl daemon-reload',
    'systemctl enable --now outbridge',
    `# endpoint credentials, as the service user: sudo -u ${user} ${execWord(input.execPath)} ${execWord(input.cliPath)} credentials set NAME --type bearer --data-dir ${dataDir}`
  ]
}

/**
 * Renders the systemd unit and the environment file holding the settings. Of `env`, only
 * `OUTBRIDGE_*` and the proxy variables are kept; `OUTBRIDGE_DATA_DIR` is always `dataDir`.
 * Throws {@link ServiceInstallError} on a value systemd could not read back exactly.
 */
export function renderService (input: {
  execPath: string, cliPath: string, user: string, dataDir: string, env: Readonly<Record<string, string>>
}): ServiceFiles {
  checkInput(input)
  return {
    unitPath: SERVICE_DEFAULTS.unitPath,
    unit: renderUnit(input, SERVICE_DEFAULTS.envPath),
    envPath: SERVICE_DEFAULTS.envPath,
    env: renderEnv(input.env, input.dataDir),
    nextSteps: renderNextSteps(input)
  }
}

/** The environment file with every sensitive value replaced by `***`. */
export function redactEnv (env: string): string {
  return env.replace(/^([A-Za-z_][A-Za-z0-9_]*)=.*$/gm, (line, name: string) => SENSITIVE_NAME.test(name) ? `${name}=***` : line)
}

async function writeFileAtomic (path: string, data: string, mode: number): Promise<void> {
  const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`
  try {
    const handle = await open(temp, 'wx', mode)
    try {
      await handle.writeFile(data)
      await handle.chmod(mode) // the umask may have taken bits away
      await handle.sync()
    } finally {
      await handle.close()
    }
    await rename(temp, path)
  } catch (err) {
    await unlink(temp).catch(() => {})
    throw err
  }
}

async function writeFiles (files: ServiceFiles, root: string): Promise<void> {
  const envPath = join(root, files.envPath)
  await mkdir(dirname(envPath), { recursive: true, mode: 0o700 })
  await chmod(dirname(envPath), 0o700)
  await writeFileAtomic(envPath, files.env, 0o600)
  const unitPath = join(root, files.unitPath)
  await mkdir(dirname(unitPath), { recursive: true, mode: 0o755 })
  await writeFileAtomic(unitPath, files.unit, 0o644)
}

/**
 * Writes the environment file (0600, directory 0700) and the unit (0644), then prints the
 * commands to run next; with `dryRun`, prints both files (secrets as `***`) and writes nothing.
 * @param options.root directory the absolute paths are placed under (for tests). @default '/'
 * @returns 0 done, 1 when a file could not be written (one-line message on `out`)
 */
export async function installService (
  files: ServiceFiles, options: { dryRun: boolean, out: NodeJS.WritableStream, root?: string }
): Promise<number> {
  const { out } = options
  if (options.dryRun) {
    out.write(`# ${files.unitPath} (mode 0644)\n${files.unit}\n`)
    out.write(`# ${files.envPath} (mode 0600)\n${redactEnv(files.env)}\n`)
    out.write(`# dry run: nothing written. To install, run install-service as root, then:\n${files.nextSteps.map((step) => `#   ${step}\n`).join('')}`)
    return 0
  }
  try {
    await writeFiles(files, options.root ?? '/')
  } catch (err) {
    const code = (err as { code?: unknown } | null)?.code
    out.write(`cannot install the service: ${typeof code === 'string' ? code : String(err)} (run as root, or use --dry-run)\n`)
    return 1
  }
  out.write(`wrote ${files.envPath} (0600) and ${files.unitPath} (0644); now run, as root:\n${files.nextSteps.map((step) => `  ${step}\n`).join('')}`)
  return 0
}
