/**
 * End to end: the mock cloud's check of the bridge token on the real WebSocket upgrade to
 * `/agent`. Good tokens get 101; missing, forged, stale, early, misaddressed, replayed and
 * foreign ones get 401 (each for the reason the cloud logs). The cloud never logs a token or a
 * secret.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { SignJWT, UnsecuredJWT } from 'jose'
import WebSocket from 'ws'
import { audienceOf, signAgentToken } from '../../agent/auth.js'
import type { AgentKey } from '../../agent/auth.js'
import { PROTOCOL_VERSIONS, subprotocolOf } from '../../protocol/version.js'
import { DEFAULT_CLIENT, cleanup, startCloud, waitFor } from './harness.js'
import type { Cloud } from './harness.js'

const KEY: AgentKey = { kind: 'secret', secret: DEFAULT_CLIENT.secret }
const WRONG_SECRET = 'wr0ng-wr0ng-wr0ng-wr0ng-wr0ng!'
/** Beyond the cloud's 30 s clock tolerance, inside its 300 s token lifetime. */
const SKEWED_MS = 120_000

let cloud: Cloud
let audience: string
/** Every token presented, for the "never logged" check. */
const presented: string[] = []

before(async () => {
  cloud = await startCloud({ args: ['--log-level', 'debug'] })
  audience = audienceOf(cloud.agentUrl)
})
after(cleanup)

/** Upgrades to `/agent` with `authorization` (none when undefined); resolves with 101 or the refusal status. */
function upgrade (authorization: string | undefined): Promise<number> {
  if (authorization !== undefined) presented.push(authorization)
  const headers = authorization === undefined ? {} : { authorization }
  const ws = new WebSocket(cloud.agentUrl, PROTOCOL_VERSIONS.map(subprotocolOf), { headers, handshakeTimeout: 5_000 })
  return new Promise((resolve, reject) => {
    ws.once('open', function onOpen () {
      ws.close(1000, 'test done')
      resolve(101)
    })
    ws.once('unexpected-response', function onRefused (req, res) {
      res.resume()
      req.destroy()
      resolve(res.statusCode ?? 0)
    })
    ws.once('error', reject)
  })
}

function rejections (): Array<Record<string, unknown>> {
  return cloud.proc.json().filter((line) => line.code === 'rejected')
}

/** Upgrades with `authorization` and asserts a 401 that the cloud logged with `reason`. */
async function assertRefused (authorization: string | undefined, reason: string): Promise<void> {
  const seen = rejections().length
  assert.equal(await upgrade(authorization), 401)
  await waitFor(() => rejections().length > seen, { message: 'the cloud logged the rejection' })
  assert.equal(rejections()[seen].reason, reason)
}

function bearer (token: string): string {
  return `Bearer ${token}`
}

/** A token with the claims the agent would sign, but in the clock `now` (ms since the epoch). */
function signedAt (now: number, options: { ttlSeconds?: number } = {}): Promise<string> {
  return signAgentToken(KEY, DEFAULT_CLIENT.id, audience, { now: () => now, ...options })
}

describe('authentication of the /agent upgrade', () => {
  test('a token signed by the agent gets 101', async () => {
    assert.equal(await upgrade(bearer(await signAgentToken(KEY, DEFAULT_CLIENT.id, audience))), 101)
  })

  test('a token 10 s ahead of the cloud clock is within the tolerance: 101', async () => {
    assert.equal(await upgrade(bearer(await signedAt(Date.now() + 10_000))), 101)
  })

  test('no Authorization header: 401', async () => {
    await assertRefused(undefined, 'missing')
  })

  test('a non-Bearer Authorization header: 401', async () => {
    await assertRefused(`Basic ${Buffer.from(`${DEFAULT_CLIENT.id}:${DEFAULT_CLIENT.secret}`).toString('base64')}`, 'malformed')
  })

  test('alg "none": 401', async () => {
    const now = Math.floor(Date.now() / 1000)
    const token = new UnsecuredJWT({})
      .setIssuer(DEFAULT_CLIENT.id).setSubject(DEFAULT_CLIENT.id).setAudience(audience)
      .setIssuedAt(now).setNotBefore(now).setExpirationTime(now + 60).setJti('unsecured-1')
      .encode()
    await assertRefused(bearer(token), 'bad-algorithm')
  })

  test('HS256 signed with the wrong secret: 401', async () => {
    const token = await signAgentToken({ kind: 'secret', secret: WRONG_SECRET }, DEFAULT_CLIENT.id, audience)
    await assertRefused(bearer(token), 'bad-signature')
  })

  test('an expired token: 401', async () => {
    await assertRefused(bearer(await signedAt(Date.now() - SKEWED_MS)), 'expired')
  })

  test('iat and nbf in the future beyond the tolerance: 401', async () => {
    await assertRefused(bearer(await signedAt(Date.now() + SKEWED_MS)), 'not-yet-valid')
  })

  test('nbf alone in the future beyond the tolerance: 401', async () => {
    const now = Math.floor(Date.now() / 1000)
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuer(DEFAULT_CLIENT.id).setSubject(DEFAULT_CLIENT.id).setAudience(audience)
      .setIssuedAt(now).setNotBefore(now + SKEWED_MS / 1000).setExpirationTime(now + 240).setJti('early-nbf-1')
      .sign(new TextEncoder().encode(DEFAULT_CLIENT.secret))
    await assertRefused(bearer(token), 'not-yet-valid')
  })

  test('a lifetime over the cloud maximum: 401', async () => {
    await assertRefused(bearer(await signedAt(Date.now(), { ttlSeconds: 3_600 })), 'lifetime-too-long')
  })

  test('a token for another audience: 401', async () => {
    const token = await signAgentToken(KEY, DEFAULT_CLIENT.id, 'wss://another-cloud.example/agent')
    await assertRefused(bearer(token), 'bad-audience')
  })

  test('a replayed token: the first use gets 101, the second 401', async () => {
    const token = bearer(await signAgentToken(KEY, DEFAULT_CLIENT.id, audience))
    assert.equal(await upgrade(token), 101)
    await assertRefused(token, 'replayed')
  })

  test('an unknown client id: 401', async () => {
    await assertRefused(bearer(await signAgentToken(KEY, 'no-such-client', audience)), 'unknown-client')
  })

  test('the cloud logs no token and no secret', () => {
    assert.ok(presented.length >= 10, 'the tests above presented tokens')
    const logged = [...cloud.proc.lines, ...cloud.proc.stderr].join('\n')
    for (const secret of [DEFAULT_CLIENT.secret, WRONG_SECRET]) assert.ok(!logged.includes(secret), 'a secret was logged')
    for (const authorization of presented) {
      const signature = authorization.split('.')[2] ?? ''
      assert.ok(!logged.includes(authorization.replace(/^\S+ /, '')), 'a token was logged')
      if (signature !== '') assert.ok(!logged.includes(signature), 'a token signature was logged')
    }
  })
})
