import { test } from 'node:test'
import assert from 'node:assert/strict'
import { generateKeyPairSync } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { decodeJwt, decodeProtectedHeader } from 'jose'
import { AuthConfigError, DEFAULT_TOKEN_TTL_SEC, audienceOf, loadAgentKey, signAgentToken } from '../../agent/auth.js'

const NOW = 1_700_000_000_123
const AUD = 'wss://cloud.example/agent'

function pkcs8 (type: 'ec' | 'ed25519' | 'rsa', namedCurve = 'P-256'): string {
  const pair = type === 'ec'
    ? generateKeyPairSync('ec', { namedCurve })
    : type === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ed25519')
  return pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
}

async function withFile<T> (content: string, fn: (path: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'outbridge-auth-'))
  try {
    const path = join(dir, 'key.pem')
    await writeFile(path, content)
    return await fn(path)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

async function assertInvalidKey (promise: Promise<unknown>, mustNotContain?: string): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof AuthConfigError)
    assert.equal(err.code, 'INVALID_KEY')
    if (mustNotContain !== undefined) assert.ok(!err.message.includes(mustNotContain))
    return true
  })
}

test('pins the default token lifetime', () => {
  assert.equal(DEFAULT_TOKEN_TTL_SEC, 60)
})

test('loadAgentKey refuses missing, ambiguous and empty credentials', async () => {
  await assertInvalidKey(loadAgentKey({}))
  await assertInvalidKey(loadAgentKey({ clientSecret: 'topsecret-value', privateKeyFile: '/nonexistent' }), 'topsecret-value')
  await assertInvalidKey(loadAgentKey({ clientSecret: '' }))
})

test('loadAgentKey accepts any non-empty secret, short ones included', async () => {
  assert.deepEqual(await loadAgentKey({ clientSecret: 's3cret' }), { kind: 'secret', secret: 's3cret' })
})

test('loadAgentKey refuses an unreadable file', async () => {
  await assertInvalidKey(loadAgentKey({ privateKeyFile: join(tmpdir(), 'outbridge-no-such-dir', 'key.pem') }))
})

test('loadAgentKey refuses unsupported and unusable keys without echoing them', async () => {
  const ed = generateKeyPairSync('ed25519')
  const encrypted = ed.privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw' }).toString()
  const publicOnly = ed.publicKey.export({ type: 'spki', format: 'pem' }).toString()
  for (const pem of [pkcs8('rsa'), pkcs8('ec', 'P-384'), encrypted, publicOnly, 'not a key']) {
    await withFile(pem, async (path) => { await assertInvalidKey(loadAgentKey({ privateKeyFile: path }), pem) })
  }
})

test('loadAgentKey reads P-256 and Ed25519 PKCS#8 keys', async () => {
  for (const pem of [pkcs8('ec'), pkcs8('ed25519')]) {
    const key = await withFile(pem, async (path) => await loadAgentKey({ privateKeyFile: path }))
    assert.deepEqual(key, { kind: 'private-key', pem })
  }
})

test('signAgentToken writes the client assertion claims', async () => {
  const token = await signAgentToken({ kind: 'secret', secret: 's3cret' }, 'acc-1', AUD, { now: () => NOW })
  const iat = Math.floor(NOW / 1000)
  const { jti, ...claims } = decodeJwt(token)
  assert.deepEqual(claims, { iss: 'acc-1', sub: 'acc-1', aud: AUD, iat, nbf: iat, exp: iat + 60 })
  assert.match(String(jti), /^[A-Za-z0-9_-]{22}$/)
  assert.deepEqual(decodeProtectedHeader(token), { alg: 'HS256', typ: 'JWT' })
})

test('signAgentToken infers the algorithm from the key and honours ttlSeconds', async () => {
  for (const [pem, alg] of [[pkcs8('ec'), 'ES256'], [pkcs8('ed25519'), 'EdDSA']] as const) {
    const token = await signAgentToken({ kind: 'private-key', pem }, 'acc-1', AUD, { ttlSeconds: 5, now: () => NOW })
    assert.equal(decodeProtectedHeader(token).alg, alg)
    const { exp, iat } = decodeJwt(token)
    assert.equal(Number(exp) - Number(iat), 5)
  }
})

test('signAgentToken makes a fresh jti for every token', async () => {
  const key = { kind: 'secret', secret: 's3cret' } as const
  const jtis = new Set<unknown>()
  for (let i = 0; i < 50; i++) jtis.add(decodeJwt(await signAgentToken(key, 'acc-1', AUD)).jti)
  assert.equal(jtis.size, 50)
})

test('signAgentToken parses a PEM once per AgentKey', async () => {
  const key = { kind: 'private-key' as const, pem: pkcs8('ed25519') }
  await signAgentToken(key, 'acc-1', AUD)
  key.pem = 'garbage'
  assert.equal(decodeProtectedHeader(await signAgentToken(key, 'acc-1', AUD)).alg, 'EdDSA')
})

test('signAgentToken refuses a bad ttl and an unusable key', async () => {
  const key = { kind: 'secret', secret: 's3cret' } as const
  for (const ttlSeconds of [0, -1, 1.5, Number.NaN]) {
    await assert.rejects(signAgentToken(key, 'acc-1', AUD, { ttlSeconds }), RangeError)
  }
  await assertInvalidKey(signAgentToken({ kind: 'private-key', pem: 'garbage' }, 'acc-1', AUD))
  await assertInvalidKey(signAgentToken({ kind: 'secret', secret: '' }, 'acc-1', AUD))
})

test('audienceOf normalises scheme, host, port and path', () => {
  const cases: Array<[string, string]> = [
    ['wss://cloud.example/agent', 'wss://cloud.example/agent'],
    ['WSS://Cloud.EXAMPLE:443/agent?token=x#frag', 'wss://cloud.example/agent'],
    ['ws://cloud.example:80/agent', 'ws://cloud.example/agent'],
    ['ws://user:pw@127.0.0.1:8080/agent', 'ws://127.0.0.1:8080/agent'],
    ['wss://cloud.example:8443', 'wss://cloud.example:8443/'],
    ['http://[::1]:80/agent', 'ws://[::1]/agent'],
    ['https://cloud.example:443/a/b', 'wss://cloud.example/a/b'],
    ['wss://[FE80::1]:9000/agent', 'wss://[fe80::1]:9000/agent']
  ]
  for (const [input, expected] of cases) assert.equal(audienceOf(input), expected, input)
})

test('audienceOf refuses what is not a ws, wss, http or https URL', () => {
  for (const input of ['cloud.example/agent', 'ftp://cloud.example/agent', '']) {
    assert.throws(() => audienceOf(input), (err: unknown) => err instanceof AuthConfigError && err.code === 'INVALID_AUDIENCE')
  }
})
