import { test } from 'node:test'
import assert from 'node:assert/strict'
import { generateKeyPairSync, randomUUID } from 'node:crypto'
import { SignJWT, UnsecuredJWT, exportPKCS8, exportSPKI, generateKeyPair } from 'jose'
import type { JWTPayload } from 'jose'
import { AuthConfigError, audienceOf, signAgentToken } from '../../agent/auth.js'
import { TokenVerifier, VERIFIER_DEFAULTS, bearerOf } from '../../mock-cloud/auth.js'
import type { VerifyFailure, VerifyResult } from '../../mock-cloud/auth.js'

const NOW = 1_700_000_000_000
const NOW_S = NOW / 1000
const SECRET = 's3cret-for-tests'
const URL_ = 'ws://127.0.0.1:8080/agent'
const AUD = audienceOf(URL_)
const secretKey = new TextEncoder().encode(SECRET)

const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' })
const ecPublicPem = ec.publicKey.export({ type: 'spki', format: 'pem' }).toString()
const ecPrivatePem = ec.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
const ed = await generateKeyPair('EdDSA', { extractable: true })
const edPublicPem = await exportSPKI(ed.publicKey)
const edPrivatePem = await exportPKCS8(ed.privateKey)

function verifier (options: { now?: () => number, maxReplayEntries?: number } = {}): TokenVerifier {
  return new TokenVerifier({
    clients: [
      { id: 'acc-1', secret: SECRET },
      { id: 'ec-1', publicKeyPem: ecPublicPem },
      { id: 'ed-1', publicKeyPem: edPublicPem }
    ],
    now: () => NOW,
    ...options
  })
}

function claims (overrides: JWTPayload = {}, iss = 'acc-1'): JWTPayload {
  return { iss, sub: iss, aud: AUD, iat: NOW_S, nbf: NOW_S, exp: NOW_S + 60, jti: randomUUID(), ...overrides }
}

async function hs256 (payload: JWTPayload, alg = 'HS256', key: Uint8Array = secretKey): Promise<string> {
  return await new SignJWT(payload).setProtectedHeader({ alg }).sign(key)
}

function without (payload: JWTPayload, name: string): JWTPayload {
  return Object.fromEntries(Object.entries(payload).filter(([k]) => k !== name))
}

async function assertRefused (token: string | undefined, reason: VerifyFailure, v = verifier()): Promise<void> {
  const result = await v.verify(token === undefined ? undefined : `Bearer ${token}`, [URL_])
  assert.equal(result.ok, false)
  assert.equal(result.ok === false && result.reason, reason)
  const message = result.ok ? '' : result.message
  assert.ok(!message.includes(SECRET))
  if (token !== undefined && token !== '') assert.ok(!message.includes(token))
}

function assertAccepted (result: VerifyResult, clientId: string, expiresAt = (NOW_S + 60) * 1000): void {
  assert.deepEqual(result, { ok: true, clientId, expiresAt })
}

test('pins the verifier defaults', async () => {
  assert.deepEqual({ ...VERIFIER_DEFAULTS }, { clockToleranceSec: 30, maxLifetimeSec: 300, maxReplayEntries: 100_000 })
  assertAccepted(await verifier().verify(`Bearer ${await hs256(claims({ exp: NOW_S + 300 }))}`, [URL_]), 'acc-1', (NOW_S + 300) * 1000)
  await assertRefused(await hs256(claims({ exp: NOW_S + 301 })), 'lifetime-too-long')
  assertAccepted(await verifier().verify(`Bearer ${await hs256(claims({ iat: NOW_S - 60, nbf: NOW_S - 60, exp: NOW_S - 29 }))}`, [URL_]), 'acc-1', (NOW_S - 29) * 1000)
  await assertRefused(await hs256(claims({ iat: NOW_S - 60, nbf: NOW_S - 60, exp: NOW_S - 30 })), 'expired')
})

test('accepts tokens from signAgentToken for HS256, ES256 and EdDSA clients', async () => {
  const v = verifier()
  const keys = [
    ['acc-1', { kind: 'secret', secret: SECRET }],
    ['ec-1', { kind: 'private-key', pem: ecPrivatePem }],
    ['ed-1', { kind: 'private-key', pem: edPrivatePem }]
  ] as const
  for (const [id, key] of keys) {
    const token = await signAgentToken(key, id, audienceOf('ws://127.0.0.1:8080/agent'), { now: () => NOW })
    assertAccepted(await v.verify(`Bearer ${token}`, ['http://127.0.0.1:8080/agent']), id)
  }
})

test('accepts the RFC 9864 name Ed25519 for an Ed25519 client', async () => {
  const token = await new SignJWT(claims({}, 'ed-1')).setProtectedHeader({ alg: 'Ed25519' }).sign(ed.privateKey)
  assertAccepted(await verifier().verify(`Bearer ${token}`, [URL_]), 'ed-1')
})

test('refuses a missing or non-Bearer authorization', async () => {
  const v = verifier()
  for (const header of [undefined, '', '  ']) {
    const result = await v.verify(header, [URL_])
    assert.equal(result.ok === false && result.reason, 'missing')
  }
  const basic = await v.verify('Basic YWNjLTE6czNjcmV0', [URL_])
  assert.equal(basic.ok === false && basic.reason, 'malformed')
})

test('refuses a malformed token', async () => {
  await assertRefused('not-a-jwt', 'malformed')
  await assertRefused('a.b.c', 'malformed')
  const good = await hs256(claims())
  await assertRefused(good.split('.').slice(0, 2).join('.'), 'malformed')
})

test('refuses an unknown client', async () => {
  await assertRefused(await hs256(claims({}, 'nobody')), 'unknown-client')
})

test('refuses a token signed with another key or altered', async () => {
  await assertRefused(await hs256(claims(), 'HS256', new TextEncoder().encode('another secret')), 'bad-signature')
  const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey
  await assertRefused(await new SignJWT(claims({}, 'ec-1')).setProtectedHeader({ alg: 'ES256' }).sign(other), 'bad-signature')
  const [header, , signature] = (await hs256(claims())).split('.')
  const forged = Buffer.from(JSON.stringify(claims({ exp: NOW_S + 120 }))).toString('base64url')
  await assertRefused(`${header}.${forged}.${signature}`, 'bad-signature')
})

test('refuses alg none, other algorithms and key confusion', async () => {
  await assertRefused(new UnsecuredJWT(claims()).encode(), 'bad-algorithm')
  await assertRefused(await hs256(claims(), 'HS512'), 'bad-algorithm')
  // The classic attack: HMAC over the public key's PEM, sent for a public-key client.
  await assertRefused(await hs256(claims({}, 'ec-1'), 'HS256', new TextEncoder().encode(ecPublicPem)), 'bad-algorithm')
  await assertRefused(await new SignJWT(claims({}, 'ed-1')).setProtectedHeader({ alg: 'ES256' }).sign(ec.privateKey), 'bad-algorithm')
})

test('refuses expired and not-yet-valid tokens beyond the tolerance', async () => {
  await assertRefused(await hs256(claims({ iat: NOW_S - 120, nbf: NOW_S - 120, exp: NOW_S - 31 })), 'expired')
  await assertRefused(await hs256(claims({ nbf: NOW_S + 31, exp: NOW_S + 90 })), 'not-yet-valid')
  await assertRefused(await hs256(without(claims({ iat: NOW_S + 31, exp: NOW_S + 90 }), 'nbf')), 'not-yet-valid')
  const inTolerance = await hs256(claims({ iat: NOW_S + 20, nbf: NOW_S + 20, exp: NOW_S + 80 }))
  assertAccepted(await verifier().verify(`Bearer ${inTolerance}`, [URL_]), 'acc-1', (NOW_S + 80) * 1000)
})

test('refuses a token for another audience', async () => {
  await assertRefused(await hs256(claims({ aud: 'ws://127.0.0.1:9999/agent' })), 'bad-audience')
  await assertRefused(await hs256(claims({ aud: 'ws://127.0.0.1:8080/other' })), 'bad-audience')
})

test('refuses wrong or missing claims', async () => {
  await assertRefused(await hs256(claims({ sub: 'ec-1' })), 'bad-claims')
  await assertRefused(await hs256(without(claims(), 'iss')), 'bad-claims')
  await assertRefused(await hs256(without(claims(), 'sub')), 'bad-claims')
  await assertRefused(await hs256(without(claims(), 'jti')), 'bad-claims')
  await assertRefused(await hs256(without(claims(), 'exp')), 'bad-claims')
  await assertRefused(await hs256(without(claims(), 'iat')), 'bad-claims')
  await assertRefused(await hs256(claims({ jti: 'x'.repeat(257) })), 'bad-claims')
  await assertRefused(await hs256(claims({ jti: '' })), 'bad-claims')
})

test('refuses a lifetime over maxLifetimeSec', async () => {
  await assertRefused(await hs256(claims({ iat: NOW_S - 10, exp: NOW_S + 291 })), 'lifetime-too-long')
})

test('refuses a replayed jti, per client', async () => {
  const v = verifier()
  const token = await hs256(claims({ jti: 'same' }))
  assertAccepted(await v.verify(`Bearer ${token}`, [URL_]), 'acc-1')
  await assertRefused(token, 'replayed', v)
  const ecToken = await new SignJWT(claims({ jti: 'same' }, 'ec-1')).setProtectedHeader({ alg: 'ES256' }).sign(ec.privateKey)
  assertAccepted(await v.verify(`Bearer ${ecToken}`, [URL_]), 'ec-1')
})

test('the replay memory stays bounded and refuses rather than forgets', async () => {
  let now = NOW
  const v = verifier({ now: () => now, maxReplayEntries: 3 })
  const sign = async (): Promise<string> => await signAgentToken({ kind: 'secret', secret: SECRET }, 'acc-1', AUD, { now: () => now })
  for (let i = 0; i < 3; i++) assert.equal((await v.verify(`Bearer ${await sign()}`, [URL_])).ok, true)
  await assertRefused(await sign(), 'replayed', v)
  assert.equal(v.replayEntries, 3)
  now += (60 + 30 + 1) * 1000
  assert.equal((await v.verify(`Bearer ${await sign()}`, [URL_])).ok, true)
  assert.equal(v.replayEntries, 1)
})

test('the replay memory holds no more than its bound under many tokens', async () => {
  let now = NOW
  const v = verifier({ now: () => now, maxReplayEntries: 100 })
  const key = { kind: 'secret', secret: SECRET } as const
  for (let i = 0; i < 1000; i++) {
    now += 1000
    const token = await signAgentToken(key, 'acc-1', AUD, { now: () => now })
    assert.equal((await v.verify(`Bearer ${token}`, [URL_])).ok, true)
    assert.ok(v.replayEntries <= 100)
  }
})

test('addClient refuses records that cannot verify', () => {
  const v = verifier()
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' }).toString()
  const bad = [
    { id: '', secret: 'x' },
    { id: 'a' },
    { id: 'a', secret: 'x', publicKeyPem: ecPublicPem },
    { id: 'a', secret: '' },
    { id: 'a', publicKeyPem: rsa },
    { id: 'a', publicKeyPem: 'garbage' }
  ]
  for (const record of bad) {
    assert.throws(() => { v.addClient(record) }, (err: unknown) => err instanceof AuthConfigError && err.code === 'INVALID_KEY')
  }
})

test('addClient lets a new client in', async () => {
  const v = verifier()
  const token = await hs256(claims({}, 'late'), 'HS256', new TextEncoder().encode('late secret'))
  await assertRefused(token, 'unknown-client', v)
  v.addClient({ id: 'late', secret: 'late secret' })
  assertAccepted(await v.verify(`Bearer ${token}`, [URL_]), 'late')
})

test('bearerOf takes the token of a Bearer header only', () => {
  assert.equal(bearerOf('Bearer abc.def.ghi'), 'abc.def.ghi')
  assert.equal(bearerOf('bearer  abc.def-_.g'), 'abc.def-_.g')
  for (const header of [undefined, '', 'Bearer', 'Bearer ', 'Basic abc', 'Bearer a b', 'Bearerabc']) {
    assert.equal(bearerOf(header), undefined, String(header))
  }
})
