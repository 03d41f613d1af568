/**
 * The comparison path: an OpenSSH reverse tunnel (`ssh -R`) through a private sshd on a
 * loopback port, with a config, host key and user key generated for the run in a temp dir.
 * The system's sshd is never touched; both ends run as the current user.
 */
import { accessSync, constants, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync, copyFileSync } from 'node:fs'
import { tmpdir, userInfo } from 'node:os'
import { join } from 'node:path'
import { freePort, waitForHttp, waitForPort } from './net.js'
import { runToEnd, startChild, stopChild } from './processes.js'
import type { BenchChild } from './processes.js'

const SSHD = '/usr/sbin/sshd'
/** The fastest cipher OpenSSH offers on hardware with AES instructions. */
export const SSH_CIPHER = 'aes128-gcm@openssh.com'
/** sshd (running as root) refuses to start without its privilege separation directory. */
const PRIVSEP_DIR = '/run/sshd'
const READY_TIMEOUT = 10_000

/** A running reverse tunnel. */
export interface SshTunnel {
  /** Loopback port where sshd listens for the forwarded connections. */
  readonly port: number
  readonly client: BenchChild
  readonly server: BenchChild
  /** Removes the temp dir (call after both processes have stopped). */
  cleanup (): void
}

/** Why the ssh path cannot run here, or undefined when it can. */
export function sshMissing (): string | undefined {
  for (const tool of [SSHD, '/usr/bin/ssh', '/usr/bin/ssh-keygen']) {
    try {
      accessSync(tool, constants.X_OK)
    } catch {
      return `${tool} is not installed (bench/setup.sh installs openssh-server and openssh-client)`
    }
  }
  return undefined
}

function sshdConfig (dir: string, port: number): string {
  return [
    `Port ${port}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${join(dir, 'host_ed25519')}`,
    `PidFile ${join(dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
    'StrictModes no',
    'UsePAM no',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PubkeyAuthentication yes',
    'PermitRootLogin prohibit-password',
    'AllowTcpForwarding remote',
    'GatewayPorts no',
    'X11Forwarding no',
    'PermitTTY no',
    'PrintMotd no',
    `Ciphers ${SSH_CIPHER}`,
    'LogLevel ERROR',
    ''
  ].join('\n')
}

/**
 * Starts a private sshd on a free loopback port and `ssh -N -R` to it, forwarding a second free
 * loopback port to `127.0.0.1:targetPort`; resolves once `/hello` answers through the tunnel.
 */
export async function startSshTunnel (targetPort: number): Promise<SshTunnel> {
  const dir = mkdtempSync(join(tmpdir(), 'outbridge-bench-ssh-'))
  const started: BenchChild[] = []
  try {
    await runToEnd('/usr/bin/ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'host_ed25519')], READY_TIMEOUT)
    await runToEnd('/usr/bin/ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'user_ed25519')], READY_TIMEOUT)
    copyFileSync(join(dir, 'user_ed25519.pub'), join(dir, 'authorized_keys'))
    const sshdPort = await freePort()
    writeFileSync(join(dir, 'sshd_config'), sshdConfig(dir, sshdPort))
    if (process.getuid?.() === 0 && !existsSync(PRIVSEP_DIR)) mkdirSync(PRIVSEP_DIR, { mode: 0o755 })
    const server = startChild('sshd', SSHD, ['-D', '-e', '-f', join(dir, 'sshd_config')])
    started.push(server)
    await waitForPort(sshdPort, READY_TIMEOUT, server)
    const port = await freePort()
    const client = startChild('ssh -R', '/usr/bin/ssh', [
      '-N', '-F', '/dev/null', '-i', join(dir, 'user_ed25519'), '-p', String(sshdPort),
      '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'BatchMode=yes',
      '-o', 'IdentitiesOnly=yes', '-o', 'ExitOnForwardFailure=yes', '-o', 'LogLevel=ERROR',
      '-c', SSH_CIPHER, '-R', `127.0.0.1:${port}:127.0.0.1:${targetPort}`,
      `${userInfo().username}@127.0.0.1`
    ])
    started.unshift(client)
    await waitForHttp(`http://127.0.0.1:${port}/hello`, READY_TIMEOUT, client)
    return { port, client, server, cleanup: () => rmSync(dir, { recursive: true, force: true }) }
  } catch (err) {
    for (const child of started) await stopChild(child)
    rmSync(dir, { recursive: true, force: true })
    throw err
  }
}
