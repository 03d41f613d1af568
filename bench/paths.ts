/**
 * Starts what the paths run through, each as its own process on 127.0.0.1: the target, the
 * mock cloud with one agent (the product CLI), and the ssh tunnel when OpenSSH is installed.
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { get } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { waitForHttp } from './net.js'
import { startChild } from './processes.js'
import type { BenchChild } from './processes.js'
import { sshMissing, startSshTunnel } from './ssh-tunnel.js'
import type { SshTunnel } from './ssh-tunnel.js'

/** The three ways to reach the target. */
export type PathName = 'direct' | 'outbridge' | 'ssh -R'

/** One way to reach the target: append `/hello`, `/bytes?n=` or `/sha256` to `baseUrl`. */
export interface BenchPath {
  readonly name: PathName
  readonly baseUrl: string
  /** The processes in the path whose memory is reported: the agent side and the cloud side. */
  readonly agentPid?: number
  readonly cloudPid?: number
}

/** Everything started for a run. */
export interface BenchSetup {
  readonly targetPort: number
  readonly cloud: BenchChild
  readonly agent: BenchChild
  readonly paths: readonly BenchPath[]
  /** Paths that could not run, with the reason. */
  readonly skipped: Partial<Record<PathName, string>>
  /** Removes temp dirs (after every process has stopped). */
  cleanup (): void
}

/** Where the built CLI and the target entry live. */
export interface SetupOptions {
  readonly cliPath: string
  readonly targetPath: string
  /** Write V8 CPU profiles of the agent and the cloud into this directory. */
  readonly cpuProfDir?: string
  /** Leave out the ssh path even when OpenSSH is installed. */
  readonly skipSsh: boolean
}

const BRIDGE = 'bench'
const READY_TIMEOUT = 15_000
const POLL_INTERVAL = 50

function nodeArgs (options: SetupOptions, script: string): string[] {
  return options.cpuProfDir === undefined ? [script] : ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfDir}`, script]
}

function bridgeListed (cloudUrl: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = get(`${cloudUrl}/api/bridges`, { agent: false }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (text: string) => { body += text })
      res.once('end', () => {
        try {
          const bridges = JSON.parse(body) as Array<{ name?: unknown }>
          resolve(Array.isArray(bridges) && bridges.some((b) => b.name === BRIDGE))
        } catch {
          resolve(false)
        }
      })
    })
    req.once('error', () => resolve(false))
  })
}

async function waitForBridge (cloudUrl: string, agent: BenchChild): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT
  while (!(await bridgeListed(cloudUrl))) {
    if (agent.process.exitCode !== null) throw new Error(`agent exited; output:\n${agent.tail()}`)
    if (Date.now() > deadline) throw new Error(`agent did not connect within ${READY_TIMEOUT} ms; output:\n${agent.tail()}`)
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL))
  }
}

async function startSsh (targetPort: number, skip: boolean, skipped: BenchSetup['skipped']): Promise<SshTunnel | undefined> {
  const missing = skip ? 'left out by --no-ssh' : sshMissing()
  if (missing !== undefined) {
    skipped['ssh -R'] = missing
    return undefined
  }
  try {
    return await startSshTunnel(targetPort)
  } catch (err) {
    skipped['ssh -R'] = `the tunnel did not come up: ${err instanceof Error ? err.message : String(err)}`
    return undefined
  }
}

/** Starts the target, the cloud, the agent and (when it can) the ssh tunnel. */
export async function startPaths (options: SetupOptions): Promise<BenchSetup> {
  const target = startChild('target', process.execPath, [options.targetPath])
  const targetPort = Number((await target.waitFor(/target listening on (\d+)/, READY_TIMEOUT))[1])
  const secret = randomBytes(24).toString('base64url')
  const cloud = startChild('cloud', process.execPath, [
    ...nodeArgs(options, options.cliPath), 'mock-cloud', '--port', '0', '--client', `${BRIDGE}:${secret}`, '--log-level', 'warn'
  ])
  const cloudUrl = (await cloud.waitFor(/listening on (http:\/\/[^\s"]+)/, READY_TIMEOUT))[1] ?? ''
  const dataDir = mkdtempSync(join(tmpdir(), 'outbridge-bench-agent-'))
  try {
    return await startAgentAndSsh(options, { targetPort, cloud, cloudUrl, secret, dataDir })
  } catch (err) {
    rmSync(dataDir, { recursive: true, force: true })
    throw err
  }
}

interface Started {
  readonly targetPort: number
  readonly cloud: BenchChild
  readonly cloudUrl: string
  readonly secret: string
  readonly dataDir: string
}

async function startAgentAndSsh (options: SetupOptions, { targetPort, cloud, cloudUrl, secret, dataDir }: Started): Promise<BenchSetup> {
  const agent = startChild('agent', process.execPath, [
    ...nodeArgs(options, options.cliPath), 'agent', '--cloud-url', `${cloudUrl.replace(/^http/, 'ws')}/agent`,
    '--client-id', BRIDGE, '--name', BRIDGE, '--allow', '127.0.0.1', '--data-dir', dataDir, '--log-level', 'warn'
  ], { ...process.env, OUTBRIDGE_CLIENT_SECRET: secret })
  await waitForBridge(cloudUrl, agent)
  const relayUrl = `${cloudUrl}/relay/${BRIDGE}/http/127.0.0.1:${targetPort}`
  await waitForHttp(`${relayUrl}/hello`, READY_TIMEOUT, agent)
  const skipped: BenchSetup['skipped'] = {}
  const ssh = await startSsh(targetPort, options.skipSsh, skipped)
  const paths: BenchPath[] = [
    { name: 'direct', baseUrl: `http://127.0.0.1:${targetPort}` },
    { name: 'outbridge', baseUrl: relayUrl, agentPid: agent.pid, cloudPid: cloud.pid }
  ]
  if (ssh !== undefined) paths.push({ name: 'ssh -R', baseUrl: `http://127.0.0.1:${ssh.port}`, agentPid: ssh.client.pid, cloudPid: ssh.server.pid })
  return {
    targetPort,
    cloud,
    agent,
    paths,
    skipped,
    cleanup () {
      rmSync(dataDir, { recursive: true, force: true })
      ssh?.cleanup()
    }
  }
}
