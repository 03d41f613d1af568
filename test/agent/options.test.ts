import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  AGENT_DEFAULTS, CONFIG_KEYS, MOCK_CLOUD_DEFAULTS, OptionsError, envName, flagName, isLoopbackHost, loadSecretFile,
  parseConfigFile, printableOptions, resolveAgentOptions, resolveConnectionOptions, resolveCredentialFlags,
  resolveMockCloudOptions, resolveRunOnceOptions, resolveServiceFlags, type OptionSources
} from '../../agent/options.js'

const HOST = { hostname: 'box-1', homedir: '/home/u' }
const LOGIN = { cloudUrl: 'ws://127.0.0.1:8080/agent', clientId: 'acc-1', clientSecret: 'hunter2' }

function src (flags: Record<string, unknown> = {}, env: Record<string, string> = {}, file: Record<string, unknown> = {}): OptionSources {
  return { flags, env, file }
}

function assertInvalid (fn: () => unknown, flag: string): OptionsError {
  let caught: unknown
  assert.throws(fn, (err: unknown) => { caught = err; return true })
  assert.ok(caught instanceof OptionsError, `expected OptionsError, got ${String(caught)}`)
  assert.equal(caught.code, 'INVALID_OPTION')
  assert.equal(caught.flag, flag)
  return caught
}

test('defaults are pinned', () => {
  assert.deepEqual({ ...AGENT_DEFAULTS }, {
    insecure: false,
    dataDir: '~/.outbridge',
    logLevel: 'info',
    handshakeTimeout: 10_000,
    heartbeatInterval: 10_000,
    allow: [],
    maxBodyBytes: 1_073_741_824,
    maxStreams: 1024,
    maxMessageBytes: 1_052_672,
    maxHeaders: 100,
    maxHeaderBytes: 65_536,
    requestTimeout: 30_000,
    followRedirects: false,
    drainTimeout: 30_000,
    tokenTtl: 60
  })
  assert.deepEqual({ ...MOCK_CLOUD_DEFAULTS }, {
    host: '127.0.0.1', port: 8080, clients: [], logLevel: 'info', maxBodyBytes: 1_073_741_824, heartbeatInterval: 10_000, maxMessageBytes: 1_052_672, reauth: false
  })
  assert.ok(Object.isFrozen(AGENT_DEFAULTS) && Object.isFrozen(AGENT_DEFAULTS.allow) && Object.isFrozen(MOCK_CLOUD_DEFAULTS))
  const agent = resolveAgentOptions(src(LOGIN), HOST)
  assert.equal(agent.name, 'box-1')
  assert.equal(agent.dataDir, '/home/u/.outbridge')
  assert.equal(agent.healthPort, undefined)
  assert.equal(agent.proxy, undefined)
})

test('flag and env names follow the key', () => {
  assert.equal(flagName('maxBodyBytes'), '--max-body-bytes')
  assert.equal(envName('maxBodyBytes'), 'OUTBRIDGE_MAX_BODY_BYTES')
})

test('a scalar takes flag > env > file > default', () => {
  const flag = { handshakeTimeout: '1' }
  const env = { OUTBRIDGE_HANDSHAKE_TIMEOUT: '2' }
  const file = { handshakeTimeout: 3 }
  const at = (s: OptionSources): number => resolveConnectionOptions(s, HOST).handshakeTimeout
  assert.equal(at(src({ ...LOGIN, ...flag }, env, file)), 1)
  assert.equal(at(src(LOGIN, env, file)), 2)
  assert.equal(at(src(LOGIN, {}, file)), 3)
  assert.equal(at(src(LOGIN)), 10_000)
  assert.equal(at(src(LOGIN, { OUTBRIDGE_HANDSHAKE_TIMEOUT: '' }, file)), 3, 'an empty env variable counts as unset')
})

test('a repeatable flag takes flag > env > file > default as a whole list', () => {
  const env = { OUTBRIDGE_ALLOW: '10.0.0.0/8, *.corp.example' }
  const file = { allow: ['192.168.1.5', 'db.internal:5432'] }
  const at = (s: OptionSources): readonly string[] => resolveAgentOptions(s, HOST).allow
  assert.deepEqual(at(src({ ...LOGIN, allow: ['10.0.0.5', 'fd00::/8'] }, env, file)), ['10.0.0.5', 'fd00::/8'])
  assert.deepEqual(at(src({ ...LOGIN, allow: '10.0.0.5' }, env, file)), ['10.0.0.5'])
  assert.deepEqual(at(src(LOGIN, env, file)), ['10.0.0.0/8', '*.corp.example'])
  assert.deepEqual(at(src(LOGIN, {}, file)), ['192.168.1.5', 'db.internal:5432'])
  assert.deepEqual(at(src(LOGIN)), [])
})

test('env lists are comma-separated and config lists are arrays, for --client too', () => {
  const fromEnv = resolveMockCloudOptions(src({}, { OUTBRIDGE_CLIENT: 'a:s:with:colons,b:t' }), HOST)
  assert.deepEqual(fromEnv.clients, [{ id: 'a', secret: 's:with:colons' }, { id: 'b', secret: 't' }])
  const fromFile = resolveMockCloudOptions(src({}, {}, { client: ['c:u'] }), HOST)
  assert.deepEqual(fromFile.clients, [{ id: 'c', secret: 'u' }])
  assertInvalid(() => resolveMockCloudOptions(src({}, {}, { client: 'c:u' }), HOST), '--client')
  assertInvalid(() => resolveAgentOptions(src(LOGIN, { OUTBRIDGE_ALLOW: '10.0.0.5,,x' }), HOST), '--allow')
})

test('booleans from env are true/false/1/0', () => {
  const insecure = (value: string): boolean => resolveConnectionOptions(src(LOGIN, { OUTBRIDGE_INSECURE: value }), HOST).insecure
  assert.equal(insecure('true'), true)
  assert.equal(insecure('1'), true)
  assert.equal(insecure('FALSE'), false)
  assert.equal(insecure('0'), false)
  assertInvalid(() => insecure('yes'), '--insecure')
  assert.equal(resolveConnectionOptions(src({ ...LOGIN, insecure: false }, { OUTBRIDGE_INSECURE: '1' }), HOST).insecure, false)
})

test('-d raises the log level to debug, but not above trace', () => {
  const level = (flags: Record<string, unknown>, env: Record<string, string> = {}): string =>
    resolveConnectionOptions(src({ ...LOGIN, ...flags }, env), HOST).logLevel
  assert.equal(level({ debug: true }), 'debug')
  assert.equal(level({ debug: true }, { OUTBRIDGE_LOG_LEVEL: 'warn' }), 'debug')
  assert.equal(level({ debug: true, logLevel: 'trace' }), 'trace')
  assert.equal(level({}, { OUTBRIDGE_LOG_LEVEL: 'silent' }), 'silent')
  assert.equal(resolveMockCloudOptions(src({}, { OUTBRIDGE_DEBUG: '1' }), HOST).logLevel, 'debug')
})

test('malformed values fail with INVALID_OPTION naming the flag', () => {
  const agent = (flags: Record<string, unknown>, env: Record<string, string> = {}) => () => resolveAgentOptions(src({ ...LOGIN, ...flags }, env), HOST)
  const cloud = (flags: Record<string, unknown>) => () => resolveMockCloudOptions(src(flags), HOST)
  const cases: Array<[() => unknown, string]> = [
    [agent({ maxStreams: 'abc' }), '--max-streams'],
    [agent({ maxBodyBytes: '-1' }), '--max-body-bytes'],
    [agent({ requestTimeout: '0' }), '--request-timeout'],
    [agent({ healthPort: '65536' }), '--health-port'],
    [agent({ drainTimeout: '1.5' }), '--drain-timeout'],
    [agent({}, { OUTBRIDGE_HEARTBEAT_INTERVAL: '10s' }), '--heartbeat-interval'],
    [() => resolveAgentOptions(src(LOGIN, {}, { maxStreams: -3 }), HOST), '--max-streams'],
    [agent({ cloudUrl: 'http://127.0.0.1/agent' }), '--cloud-url'],
    [agent({ cloudUrl: 'not a url' }), '--cloud-url'],
    [agent({ cloudUrl: undefined }), '--cloud-url'],
    [agent({ clientId: undefined }), '--client-id'],
    [agent({ clientId: '' }), '--client-id'],
    [agent({ clientSecret: undefined }), '--client-secret'],
    [agent({ proxy: 'socks5://127.0.0.1:1080' }), '--proxy'],
    [agent({ logLevel: 'loud' }), '--log-level'],
    [agent({ name: ['a', 'b'] }), '--name'],
    [agent({ allow: ['10.0.0.5', '10.0.0.0/99'] }), '--allow'],
    [() => resolveRunOnceOptions(src(LOGIN), HOST), '--frequency'],
    [() => resolveRunOnceOptions(src({ ...LOGIN, frequency: 'yearly' }), HOST), '--frequency'],
    [() => resolveCredentialFlags({ type: 'cookie' }), '--type'],
    [cloud({ port: '70000' }), '--port'],
    [cloud({ port: 'http' }), '--port'],
    [cloud({ client: ['nocolon'] }), '--client'],
    [cloud({ client: [':secret'] }), '--client'],
    [cloud({ tlsCert: '/c.pem' }), '--tls-cert'],
    [cloud({ tlsKey: '/k.pem' }), '--tls-key'],
    [cloud({ host: '0.0.0.0' }), '--api-token'],
    [cloud({ host: '::' }), '--api-token']
  ]
  for (const [fn, flag] of cases) assertInvalid(fn, flag)
})

test('mock-cloud off loopback starts with a token; loopback hosts need none', () => {
  assert.equal(resolveMockCloudOptions(src({ host: '0.0.0.0', apiToken: 't' }), HOST).apiToken, 't')
  for (const host of ['127.0.0.1', '127.9.9.9', '::1', '::ffff:127.0.0.1', 'localhost', 'LOCALHOST']) assert.equal(isLoopbackHost(host), true, host)
  for (const host of ['0.0.0.0', '::', '10.0.0.1', '128.0.0.1', 'localhost.example']) assert.equal(isLoopbackHost(host), false, host)
  const port0 = resolveMockCloudOptions(src({ port: '0', tlsCert: '~/c.pem', tlsKey: '/k.pem' }), HOST)
  assert.deepEqual([port0.port, port0.tlsCert, port0.tlsKey], [0, '/home/u/c.pem', '/k.pem'])
})

test('the secret forms: the highest source decides, two forms in one source conflict', () => {
  const base = { cloudUrl: LOGIN.cloudUrl, clientId: LOGIN.clientId }
  const fromFile = resolveConnectionOptions(src({ ...base, clientSecretFile: '~/secret' }, { OUTBRIDGE_CLIENT_SECRET: 'hunter2' }), HOST)
  assert.equal(fromFile.clientSecretFile, '/home/u/secret')
  assert.equal(fromFile.clientSecret, undefined)
  const fromEnv = resolveConnectionOptions(src(base, { OUTBRIDGE_CLIENT_SECRET: 'hunter2' }, { privateKeyFile: '/k.pem' }), HOST)
  assert.deepEqual([fromEnv.clientSecret, fromEnv.privateKeyFile], ['hunter2', undefined])
  const err = assertInvalid(() => resolveConnectionOptions(src({ ...base, clientSecret: 'hunter2', clientSecretFile: '/s' }), HOST), '--client-secret-file')
  assert.ok(!err.message.includes('hunter2'))
  assertInvalid(() => resolveConnectionOptions(src(base, {}, { clientSecret: 'x', privateKeyFile: '/k.pem' }), HOST), '--private-key-file')
})

test('no error message carries a secret value', () => {
  const errors = [
    assertInvalid(() => resolveConnectionOptions(src({ ...LOGIN, clientSecret: ['hunter2', 'hunter3'] }), HOST), '--client-secret'),
    assertInvalid(() => resolveMockCloudOptions(src({ client: ['hunter2'] }), HOST), '--client'),
    assertInvalid(() => resolveMockCloudOptions(src({ apiToken: ['hunter2', 'x'] }), HOST), '--api-token')
  ]
  for (const err of errors) assert.ok(!err.message.includes('hunter2'), err.message)
})

test('the config file: a JSON object of known keys', () => {
  assert.deepEqual(parseConfigFile('{"allow":["*"],"port":1}', '/c.json', new Set(['allow', 'port'])), { allow: ['*'], port: 1 })
  for (const text of ['{"allow":', '[]', 'null', '"x"']) assertInvalid(() => parseConfigFile(text, '/c.json', CONFIG_KEYS.agent), '--config')
  const unknown = assertInvalid(() => parseConfigFile('{"cloudUrl":"ws://x","allowList":[]}', '/c.json', CONFIG_KEYS.agent), '--config')
  assert.ok(unknown.message.includes('allowList'), 'the message names the key')
  assertInvalid(() => parseConfigFile('{"allow":[]}', '/c.json', CONFIG_KEYS.mockCloud), '--config')
  assertInvalid(() => resolveConnectionOptions(src(LOGIN, {}, { insecure: 'true' }), HOST), '--insecure')
})

test('install-service flags: service defaults, and --dry-run only as a flag', () => {
  const defaults = { user: 'outbridge', dataDir: '/var/lib/outbridge' }
  assert.deepEqual(resolveServiceFlags(src({}, { OUTBRIDGE_DRY_RUN: '1' }), HOST, defaults), { ...defaults, dryRun: false })
  assert.deepEqual(resolveServiceFlags(src({ dryRun: true, user: 'svc' }, { OUTBRIDGE_DATA_DIR: '/srv/ob' }), HOST, defaults),
    { user: 'svc', dataDir: '/srv/ob', dryRun: true })
})

test('printableOptions redacts secrets and keeps the secret file path', async () => {
  const printed = printableOptions(resolveAgentOptions(src(LOGIN), HOST))
  assert.equal(printed.clientSecret, '***')
  assert.ok(!JSON.stringify(printed).includes('hunter2'))
  const root = await mkdtemp(join(tmpdir(), 'outbridge-options-'))
  try {
    const path = join(root, 'secret')
    await writeFile(path, 'hunter2\n')
    const loaded = await loadSecretFile(resolveConnectionOptions(src({ ...LOGIN, clientSecret: undefined, clientSecretFile: path }), HOST))
    assert.equal(loaded.clientSecret, 'hunter2')
    const shown = printableOptions(loaded)
    assert.deepEqual([shown.clientSecret, shown.clientSecretFile], ['***', path])
    await writeFile(path, '\n')
    await assert.rejects(loadSecretFile(loaded), { code: 'INVALID_OPTION', flag: '--client-secret-file' })
    await assert.rejects(loadSecretFile({ ...loaded, clientSecretFile: join(root, 'missing') }), { code: 'INVALID_OPTION', flag: '--client-secret-file' })
  } finally {
    await rm(root, { recursive: true, force: true })
  }
  const cloud = printableOptions(resolveMockCloudOptions(src({ host: '0.0.0.0', apiToken: 'hunter2', client: ['a:hunter2'] }), HOST))
  assert.deepEqual([cloud.apiToken, cloud.clients], ['***', [{ id: 'a', secret: '***' }]])
})
