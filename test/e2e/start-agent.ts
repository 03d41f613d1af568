/**
 * Starts `outbridge agent` for e2e tests and wraps it as an {@link Agent}: waiting for its
 * `connected` lines, its health URL, and stop.
 */
import { spawnCli } from './cli-process.js'
import type { Proc } from './cli-process.js'
import { DEFAULT_CLIENT } from './start-cloud.js'
import { makeTempDir } from './tracked.js'

/** A running `outbridge agent`. */
export interface Agent {
  readonly proc: Proc
  /** Its `--data-dir`. */
  readonly dataDir: string
  /** Resolves once the agent has logged `msg: "connected"` `times` times. @default timeoutMs 15_000, times 1 */
  waitConnected (timeoutMs?: number, times?: number): Promise<void>
  /** Sends `signal`; resolves with the exit code. @default 'SIGTERM' */
  stop (signal?: NodeJS.Signals): Promise<number | null>
}

/** Options of {@link startAgent}. */
export interface AgentStartOptions {
  /** @default DEFAULT_CLIENT.id */
  clientId?: string
  /** @default DEFAULT_CLIENT.secret */
  secret?: string
  /** `--allow` rules. @default ['127.0.0.1'] (where the sample target listens) */
  allow?: string[]
  /** `--name`. @default the client id */
  name?: string
  /** `--data-dir`. @default a fresh temp dir */
  dataDir?: string
  /** Extra flags, after the ones above. */
  args?: string[]
  env?: NodeJS.ProcessEnv
  /** Wait for the first `connected` line before resolving. @default true */
  waitConnected?: boolean
}

function isConnectedLine (line: string): boolean {
  try {
    return (JSON.parse(line) as { msg?: unknown }).msg === 'connected'
  } catch {
    return false
  }
}

/** Starts `outbridge agent` toward `cloud.agentUrl` (a relay's URL works too). */
export async function startAgent (cloud: { agentUrl: string }, options: AgentStartOptions = {}): Promise<Agent> {
  const clientId = options.clientId ?? DEFAULT_CLIENT.id
  const dataDir = options.dataDir ?? makeTempDir()
  const proc = spawnCli([
    'agent',
    '--cloud-url', cloud.agentUrl,
    '--client-id', clientId,
    '--client-secret', options.secret ?? DEFAULT_CLIENT.secret,
    '--name', options.name ?? clientId,
    '--data-dir', dataDir,
    ...(options.allow ?? ['127.0.0.1']).flatMap((rule) => ['--allow', rule]),
    ...(options.args ?? [])
  ], { env: options.env })
  const agent: Agent = {
    proc,
    dataDir,
    waitConnected: async (timeoutMs = 15_000, times = 1) => { await proc.waitForLine(isConnectedLine, timeoutMs, times) },
    stop: (signal = 'SIGTERM') => proc.stop(signal)
  }
  if (options.waitConnected ?? true) {
    try {
      await agent.waitConnected()
    } catch (err) {
      await proc.stop('SIGKILL')
      throw err
    }
  }
  return agent
}

/** `http://127.0.0.1:PORT` of an agent started with `--health-port 0`, from its `health on` line. */
export async function healthUrl (agent: Agent): Promise<string> {
  const line = await agent.proc.waitForLine((l) => l.includes('"health on '))
  return `http://127.0.0.1:${(JSON.parse(line) as { port: number }).port}`
}
