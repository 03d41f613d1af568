import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

// From the source tree, run bin/outbridge.ts through tsx; compiled under dist/, run the .js.
const FROM_SOURCE = import.meta.url.endsWith('.ts')
const EXT = FROM_SOURCE ? 'ts' : 'js'
const BIN = fileURLToPath(new URL(`../../bin/outbridge.${EXT}`, import.meta.url))
const ROOT = dirname(dirname(BIN))
const NODE_ARGS = FROM_SOURCE ? ['--import', 'tsx', BIN] : [BIN]

interface Result { readonly code: number | null, readonly stdout: string, readonly stderr: string }

/** The environment without any OUTBRIDGE_* the test runner may have inherited. */
function cleanEnv (extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('OUTBRIDGE_')))
  return { ...env, ...extra }
}

function run (args: readonly string[], env: Record<string, string> = {}): Promise<Result> {
  return new Promise((resolve) => {
    execFile(process.execPath, [...NODE_ARGS, ...args], { cwd: ROOT, env: cleanEnv(env), timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null
      resolve({ code, stdout, stderr })
    })
  })
}

function assertUsageError (result: Result, mentions: string): void {
  assert.equal(result.code, 2, result.stderr)
  const lines = result.stderr.trimEnd().split('\n')
  assert.equal(lines.length, 1, `one line on stderr, got: ${result.stderr}`)
  assert.ok(lines[0]?.includes(mentions), `stderr names ${mentions}: ${result.stderr}`)
  assert.equal(result.stdout, '')
}

const LOGIN = ['--cloud-url', 'ws://127.0.0.1:9/agent', '--client-id', 'acc-1', '--client-secret', 'hunter2']

const HELP: ReadonlyArray<readonly [readonly string[], readonly string[]]> = [
  [['agent'], ['--cloud-url', '--client-id', '--client-secret-file', '--allow', '--health-port', '--max-streams', '--drain-timeout', '--debug']],
  [['test-connection'], ['--cloud-url', '--client-id', '--client-secret', '--proxy', '--handshake-timeout']],
  [['mock-cloud'], ['--host', '--port', '--client', '--tls-cert', '--tls-key', '--api-token', '--max-body-bytes']],
  [['run-once'], ['--frequency', '--job', '--cloud-url']],
  [['install-service'], ['--dry-run', '--data-dir']],
  [['credentials', 'set'], ['--type', '--username', '--header-name', '--data-dir']],
  [['credentials', 'list'], ['--data-dir']],
  [['credentials', 'remove'], ['--data-dir']]
]

test('--help of every command exits 0 and shows its flags and examples', async () => {
  const results = await Promise.all(HELP.map(async ([command]) => await run([...command, '--help'])))
  HELP.forEach(([command, flags], i) => {
    const { code, stdout } = results[i] as Result
    assert.equal(code, 0, command.join(' '))
    for (const flag of [...flags, '--config']) assert.ok(stdout.includes(flag), `${command.join(' ')} --help shows ${flag}`)
    assert.ok(stdout.includes('Examples:'), `${command.join(' ')} --help has examples`)
  })
  const top = await run(['--help'])
  assert.equal(top.code, 0)
  for (const command of ['agent', 'test-connection', 'mock-cloud', 'credentials', 'run-once', 'install-service']) {
    assert.ok(top.stdout.includes(command), command)
  }
})

test('--version prints the package.json version', async () => {
  const { version } = JSON.parse(readFileSync(join(ROOT, FROM_SOURCE ? '' : '..', 'package.json'), 'utf8')) as { version: string }
  const result = await run(['--version'])
  assert.equal(result.code, 0)
  assert.equal(result.stdout.trim(), version)
})

test('usage errors exit 2 with one line on stderr', async () => {
  const cases: ReadonlyArray<readonly [readonly string[], string]> = [
    [['agent', '--bogus'], 'bogus'],
    [['mock-cloud', '--port', '1', '--nope'], 'nope'],
    [['credentials', 'list', '--allow', 'x'], 'allow'],
    [['frobnicate'], 'frobnicate'],
    [[], 'command'],
    [['credentials'], 'credentials'],
    [['agent', ...LOGIN, '--max-streams', '12x'], '--max-streams'],
    [['mock-cloud', '--port', '65536'], '--port'],
    [['mock-cloud', '--port'], 'port'],
    [['agent', '--client-id', 'acc-1', '--client-secret', 'hunter2'], '--cloud-url'],
    [['test-connection', '--cloud-url', 'https://127.0.0.1/agent', '--client-id', 'a', '--client-secret', 's'], '--cloud-url'],
    [['agent', ...LOGIN, '--allow', '10.0.0.0/99'], '10.0.0.0/99'],
    [['mock-cloud', '--host', '0.0.0.0'], '--api-token'],
    [['run-once', ...LOGIN], '--frequency']
  ]
  const results = await Promise.all(cases.map(async ([args]) => await run(args)))
  cases.forEach(([, mentions], i) => { assertUsageError(results[i] as Result, mentions) })
  for (const result of results) assert.ok(!result.stderr.includes('hunter2'))
})

test('the environment and the config file feed the flags', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'outbridge-cli-'))
  try {
    const bad = join(dir, 'bad.json')
    const unknown = join(dir, 'unknown.json')
    const good = join(dir, 'good.json')
    await writeFile(bad, '{"port": 1,')
    await writeFile(unknown, '{"port": 1, "prot": 2}')
    await writeFile(good, '{"host": "0.0.0.0", "port": 1}')
    const [badJson, unknownKey, envNumber, offLoopback] = await Promise.all([
      run(['mock-cloud', '--config', bad]),
      run(['mock-cloud'], { OUTBRIDGE_CONFIG: unknown }),
      run(['mock-cloud'], { OUTBRIDGE_PORT: 'eighty' }),
      run(['mock-cloud', '--config', good])
    ])
    assertUsageError(badJson, '--config')
    assertUsageError(unknownKey, 'prot')
    assertUsageError(envNumber, 'OUTBRIDGE_PORT')
    assertUsageError(offLoopback, '--api-token')
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test('install-service --dry-run prints the unit and writes nothing', async (t) => {
  const module = join(ROOT, 'agent', `service-install.${EXT}`)
  if (!existsSync(module)) {
    t.skip(`agent/service-install.${EXT} is not there yet`)
    return
  }
  const result = await run(['install-service', '--dry-run'], { OUTBRIDGE_CLIENT_SECRET: 'hunter2' })
  assert.equal(result.code, 0, result.stderr)
  assert.ok(result.stdout.includes('[Service]'))
  assert.ok(!result.stdout.includes('hunter2'))
})
