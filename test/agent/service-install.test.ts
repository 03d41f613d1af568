import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { installService, renderService, SERVICE_DEFAULTS } from '../../agent/service-install.js'

const BASE = {
  execPath: '/usr/bin/node',
  cliPath: '/usr/lib/node_modules/outbridge/dist/bin/outbridge.js',
  user: 'outbridge',
  dataDir: '/var/lib/outbridge',
  env: {
    OUTBRIDGE_CLOUD_URL: 'wss://cloud.example/agent',
    OUTBRIDGE_CLIENT_ID: 'acc-1',
    OUTBRIDGE_CLIENT_SECRET: 'client-secret-value',
    OUTBRIDGE_CREDENTIALS_KEY: 'credentials-key-value',
    HTTPS_PROXY: 'http://proxy.internal:3128',
    PATH: '/usr/bin',
    HOME: '/root'
  }
}

function capture (): { out: PassThrough, text: () => string } {
  const out = new PassThrough()
  const chunks: Buffer[] = []
  out.on('data', (chunk: Buffer) => chunks.push(chunk))
  return { out, text: () => Buffer.concat(chunks).toString('utf8') }
}

async function withRoot (fn: (root: string) => Promise<void>): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'outbridge-service-'))
  try {
    await fn(root)
  } finally {
    await rm(root, { recursive: true, force: true })
  }
}

/** Reads the env file back the way a POSIX shell does (systemd >= 239 uses the same escapes). */
function readBack (env: string): Record<string, string> {
  const dump = execFileSync('sh', ['-c', 'set -a; eval "$(cat)"; env -0'], { input: env, env: {} }).toString('utf8')
  const shellOwn = new Set(['PWD', 'OLDPWD', 'SHLVL', '_'])
  return Object.fromEntries(dump.split('\0').filter(Boolean).map((pair) => {
    const at = pair.indexOf('=')
    return [pair.slice(0, at), pair.slice(at + 1)]
  }).filter(([name]) => !shellOwn.has(name as string)))
}

test('the unit runs the agent as a dedicated user with the hardening settings', () => {
  const files = renderService(BASE)
  assert.equal(files.unitPath, '/etc/systemd/system/outbridge.service')
  assert.equal(files.envPath, '/etc/outbridge/outbridge.env')
  const lines = files.unit.split('\n')
  for (const line of [
    '[Unit]', 'After=network-online.target', 'Wants=network-online.target', '[Service]', 'Type=simple',
    'User=outbridge', 'Group=outbridge', 'EnvironmentFile=/etc/outbridge/outbridge.env',
    `ExecStart=${BASE.execPath} ${BASE.cliPath} agent`, 'Restart=on-failure', 'RestartSec=5',
    'KillSignal=SIGTERM', 'TimeoutStopSec=45', 'StateDirectory=outbridge', 'ReadWritePaths=/var/lib/outbridge',
    'NoNewPrivileges=yes', 'ProtectSystem=strict', 'ProtectHome=yes', 'PrivateTmp=yes', 'PrivateDevices=yes',
    'ProtectKernelTunables=yes', 'ProtectKernelModules=yes', 'ProtectControlGroups=yes',
    'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX', 'LockPersonality=yes', 'RestrictSUIDSGID=yes',
    'CapabilityBoundingSet=', '[Install]', 'WantedBy=multi-user.target'
  ]) assert.ok(lines.includes(line), line)
  assert.equal(lines.some((line) => line.startsWith('MemoryDenyWriteExecute')), false)
  assert.ok(lines.some((line) => line.startsWith('Description=')))
  assert.equal(files.unit.includes('client-secret-value'), false)
})

test('a data directory outside /var/lib gets no StateDirectory and an install step', () => {
  const files = renderService({ ...BASE, user: 'bridge', dataDir: '/srv/outbridge' })
  assert.equal(files.unit.includes('StateDirectory='), false)
  assert.ok(files.unit.split('\n').includes('ReadWritePaths=/srv/outbridge'))
  assert.ok(files.nextSteps.includes('install -d -m 0700 -o bridge -g bridge /srv/outbridge'))
  assert.equal(readBack(files.env).OUTBRIDGE_DATA_DIR, '/srv/outbridge')
})

test('ExecStart quotes and escapes paths systemd would otherwise split or expand', () => {
  const files = renderService({ ...BASE, execPath: '/opt/node 20/bin/node', cliPath: '/opt/a%b$c/cli.js' })
  assert.ok(files.unit.split('\n').includes('ExecStart="/opt/node 20/bin/node" /opt/a%%b$$c/cli.js agent'))
})

test('the env file carries OUTBRIDGE_* and proxy settings, values read back exactly', () => {
  const tricky = 'a"b$c`d\\e f#g\'h'
  const files = renderService({ ...BASE, env: { ...BASE.env, OUTBRIDGE_NAME: tricky, OUTBRIDGE_DATA_DIR: '/elsewhere' } })
  assert.deepEqual(readBack(files.env), {
    HTTPS_PROXY: 'http://proxy.internal:3128',
    OUTBRIDGE_CLIENT_ID: 'acc-1',
    OUTBRIDGE_CLIENT_SECRET: 'client-secret-value',
    OUTBRIDGE_CLOUD_URL: 'wss://cloud.example/agent',
    OUTBRIDGE_CREDENTIALS_KEY: 'credentials-key-value',
    OUTBRIDGE_DATA_DIR: '/var/lib/outbridge',
    OUTBRIDGE_NAME: tricky
  })
})

test('refuses settings that cannot be written safely', () => {
  const cases = [
    { ...BASE, env: { OUTBRIDGE_NAME: 'two\nlines' } },
    { ...BASE, env: { OUTBRIDGE_NAME: 'cr\r' } },
    { ...BASE, user: 'Root Admin' },
    { ...BASE, execPath: 'node' },
    { ...BASE, cliPath: '/x\n/cli.js' },
    { ...BASE, dataDir: 'relative/dir' },
    { ...BASE, dataDir: '/var/lib/../etc' },
    { ...BASE, dataDir: '/var/lib/out bridge' },
    { ...BASE, dataDir: '/home/me/.outbridge' },
    { ...BASE, dataDir: '/tmp/outbridge' },
    { ...BASE, dataDir: '/' }
  ]
  for (const input of cases) {
    assert.throws(() => renderService(input), { code: 'INVALID_SERVICE_SETTING' }, JSON.stringify(input))
  }
})

test('--dry-run prints both files with secrets masked and writes nothing', async () => {
  await withRoot(async (root) => {
    const files = renderService(BASE)
    const { out, text } = capture()
    assert.equal(await installService(files, { dryRun: true, out, root }), 0)
    const printed = text()
    assert.ok(printed.includes(`# ${SERVICE_DEFAULTS.unitPath}`))
    assert.ok(printed.includes(`# ${SERVICE_DEFAULTS.envPath}`))
    assert.ok(printed.includes(files.unit))
    assert.match(printed, /^OUTBRIDGE_CLIENT_SECRET=\*\*\*$/m)
    assert.match(printed, /^OUTBRIDGE_CREDENTIALS_KEY=\*\*\*$/m)
    assert.match(printed, /^OUTBRIDGE_CLIENT_ID="acc-1"$/m)
    assert.equal(printed.includes('client-secret-value'), false)
    assert.equal(printed.includes('credentials-key-value'), false)
    assert.deepEqual(await readdir(root), [])
  })
})

test('an install writes the env file 0600 in a 0700 directory and the unit 0644', async () => {
  await withRoot(async (root) => {
    await mkdir(join(root, 'etc/outbridge'), { recursive: true, mode: 0o755 })
    const files = renderService(BASE)
    const { out, text } = capture()
    assert.equal(await installService(files, { dryRun: false, out, root }), 0)
    const envPath = join(root, 'etc/outbridge/outbridge.env')
    const unitPath = join(root, 'etc/systemd/system/outbridge.service')
    assert.equal(await readFile(envPath, 'utf8'), files.env)
    assert.equal(await readFile(unitPath, 'utf8'), files.unit)
    assert.equal((await stat(envPath)).mode & 0o777, 0o600)
    assert.equal((await stat(join(root, 'etc/outbridge'))).mode & 0o777, 0o700)
    assert.equal((await stat(unitPath)).mode & 0o777, 0o644)
    for (const step of ['useradd --system', 'systemctl daemon-reload', 'systemctl enable --now outbridge']) {
      assert.ok(text().includes(step), step)
    }
    assert.equal(text().includes('client-secret-value'), false)

    const updated = renderService({ ...BASE, env: { OUTBRIDGE_CLIENT_ID: 'acc-2' } })
    assert.equal(await installService(updated, { dryRun: false, out, root }), 0)
    assert.equal(readBack(await readFile(envPath, 'utf8')).OUTBRIDGE_CLIENT_ID, 'acc-2')
    assert.deepEqual(await readdir(join(root, 'etc/outbridge')), ['outbridge.env'])
  })
})

test('an install that cannot write exits 1 with one line', async () => {
  await withRoot(async (root) => {
    await writeFile(join(root, 'etc'), 'a file where a directory should be')
    const { out, text } = capture()
    assert.equal(await installService(renderService(BASE), { dryRun: false, out, root }), 1)
    assert.match(text(), /^[^\n]+\n$/)
  })
})
