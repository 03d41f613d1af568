/**
 * The cloud's check of a bridge's upgrade request: the `Authorization: Bearer <jwt>` client
 * assertion signed by `agent/auth.ts`. jose enters the mock cloud here.
 */
import { createPublicKey, type KeyObject } from 'node:crypto'
import { decodeJwt, decodeProtectedHeader, errors, jwtVerify } from 'jose'
import type { JWTPayload, JWTVerifyOptions } from 'jose'
import { AuthConfigError, algorithmOfKey, audienceOf } from '../agent/auth.js'

/** A bridge allowed to connect: its client id and exactly one of a secret or a public key. */
export interface ClientRecord {
  readonly id: string
  /** Shared secret; the bridge signs with HS256. */
  readonly secret?: string
  /** SPKI PEM of a P-256 (ES256) or Ed25519 (EdDSA) key. */
  readonly publicKeyPem?: string
}

/** Why a token was refused; all of them answer the upgrade with 401. */
export type VerifyFailure = 'missing' | 'malformed' | 'unknown-client' | 'bad-signature' | 'bad-algorithm' |
  'expired' | 'not-yet-valid' | 'bad-audience' | 'bad-claims' | 'replayed' | 'lifetime-too-long'

/** The verdict; `message` is safe to log (never holds the token or a secret). */
export type VerifyResult =
  | { ok: true, clientId: string, /** token expiry, ms since the epoch */ expiresAt: number }
  | { ok: false, reason: VerifyFailure, message: string }

/** Defaults of {@link TokenVerifier}'s options. */
export const VERIFIER_DEFAULTS = Object.freeze({ clockToleranceSec: 30, maxLifetimeSec: 300, maxReplayEntries: 100_000 })

const MAX_JTI_LENGTH = 256

interface VerifyKey { readonly algorithms: string[], readonly key: Uint8Array | KeyObject }

/** The token of a `Bearer` authorization header, or undefined when there is none. */
export function bearerOf (authorization: string | undefined): string | undefined {
  const match = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(authorization ?? '')
  return match?.[1]
}

/**
 * Verifies bridge tokens. The algorithm is fixed per client (HS256 for a secret, ES256 or EdDSA
 * from the public key's type), so `alg: none` and key-confusion tokens fail before any key is used.
 *
 * Replay: each accepted `jti` is remembered per client until its token can no longer be accepted
 * (`exp` + tolerance). The memory is bounded by `maxReplayEntries`: when full, expired entries are
 * dropped; if none has expired, new tokens are refused (reason `replayed`) rather than forgetting
 * a live `jti`, which would open a replay window. Only fully verified tokens take an entry, so only
 * key holders can fill it, and it drains within `maxLifetimeSec` + tolerance.
 */
export class TokenVerifier {
  readonly #keys = new Map<string, VerifyKey>()
  readonly #clockToleranceSec: number
  readonly #maxLifetimeSec: number
  readonly #now: () => number
  readonly #seen: ReplayCache

  /**
   * @param options.clients bridges allowed to connect.
   * @param options.clockToleranceSec allowed clock skew for `exp`, `nbf` and `iat`, in s. @default 30
   * @param options.maxLifetimeSec longest accepted `exp - iat`, in s. @default 300
   * @param options.now clock in ms since the epoch. @default Date.now
   * @param options.maxReplayEntries bound of the `jti` memory. @default 100_000
   * @throws {AuthConfigError} `INVALID_KEY` for a client record that cannot verify (see addClient).
   * @throws {RangeError} for a negative or non-finite number, or `maxReplayEntries` < 1.
   */
  constructor (options: {
    clients: Iterable<ClientRecord>
    clockToleranceSec?: number
    maxLifetimeSec?: number
    now?: () => number
    maxReplayEntries?: number
  }) {
    const d = VERIFIER_DEFAULTS
    this.#clockToleranceSec = atLeast('clockToleranceSec', options.clockToleranceSec ?? d.clockToleranceSec, 0)
    this.#maxLifetimeSec = atLeast('maxLifetimeSec', options.maxLifetimeSec ?? d.maxLifetimeSec, 0)
    this.#seen = new ReplayCache(atLeast('maxReplayEntries', options.maxReplayEntries ?? d.maxReplayEntries, 1))
    this.#now = options.now ?? Date.now
    for (const client of options.clients) this.addClient(client)
  }

  /**
   * Allows (or replaces) a client.
   * @throws {AuthConfigError} `INVALID_KEY` when the id is empty, not exactly one of `secret` and
   * `publicKeyPem` is given, the secret is empty, or the key is not a P-256 or Ed25519 public key.
   */
  addClient (c: ClientRecord): void {
    if (c.id === '') throw new AuthConfigError('INVALID_KEY', 'a client has an empty id')
    if ((c.secret === undefined) === (c.publicKeyPem === undefined)) {
      throw new AuthConfigError('INVALID_KEY', `client ${JSON.stringify(c.id)} needs exactly one of a secret and a public key`)
    }
    this.#keys.set(c.id, c.publicKeyPem === undefined ? secretKey(c.id, c.secret ?? '') : publicKey(c.id, c.publicKeyPem))
  }

  /** How many `jti` entries the replay memory holds (for metrics and tests). */
  get replayEntries (): number {
    return this.#seen.size
  }

  /**
   * Checks the upgrade request's `Authorization` header against the known clients.
   * @param expectedAudiences the agent endpoint URLs this cloud answers on; normalised with
   * {@link audienceOf}, so `http://HOST:PORT/agent` and `ws://HOST:PORT/agent` are the same.
   * @throws {AuthConfigError} `INVALID_AUDIENCE` when an expected audience is not a URL (a bug of
   * the caller); a bad token never throws, it resolves to `ok: false`.
   */
  async verify (authorization: string | undefined, expectedAudiences: readonly string[]): Promise<VerifyResult> {
    const token = bearerOf(authorization)
    if (token === undefined) {
      return (authorization ?? '').trim() === ''
        ? fail('missing', 'no bearer token')
        : fail('malformed', 'the Authorization header is not a Bearer token')
    }
    let alg: unknown, iss: unknown
    try {
      alg = decodeProtectedHeader(token).alg
      iss = decodeJwt(token).iss
    } catch {
      return fail('malformed', 'the bearer token is not a JWT')
    }
    if (typeof iss !== 'string') return fail('bad-claims', 'the token has no "iss" claim')
    const client = this.#keys.get(iss)
    if (client === undefined) return fail('unknown-client', `unknown client ${JSON.stringify(iss.slice(0, 64))}`)
    if (typeof alg !== 'string' || !client.algorithms.includes(alg)) {
      return fail('bad-algorithm', `client ${JSON.stringify(iss)} signs with ${client.algorithms.join(' or ')}, not ${String(alg).slice(0, 16)}`)
    }
    let payload: JWTPayload
    try {
      payload = (await jwtVerify(token, client.key, this.#optionsFor(iss, client, expectedAudiences))).payload
    } catch (err) {
      return failureOf(err)
    }
    return this.#checkPayload(iss, payload)
  }

  #optionsFor (clientId: string, client: VerifyKey, expectedAudiences: readonly string[]): JWTVerifyOptions {
    return {
      algorithms: client.algorithms,
      audience: expectedAudiences.map(audienceOf),
      issuer: clientId,
      subject: clientId,
      requiredClaims: ['exp', 'iat', 'jti'],
      clockTolerance: this.#clockToleranceSec,
      // Makes jose check that `iat` is not in the future (beyond the tolerance).
      maxTokenAge: this.#maxLifetimeSec,
      currentDate: new Date(this.#now())
    }
  }

  #checkPayload (clientId: string, payload: JWTPayload): VerifyResult {
    const { exp, iat, jti } = payload
    if (exp === undefined || iat === undefined) return fail('bad-claims', 'the token lacks "exp" or "iat"')
    if (exp - iat > this.#maxLifetimeSec) {
      return fail('lifetime-too-long', `token lifetime ${exp - iat} s exceeds ${this.#maxLifetimeSec} s`)
    }
    if (typeof jti !== 'string' || jti === '' || jti.length > MAX_JTI_LENGTH) {
      return fail('bad-claims', `"jti" must be a string of 1 to ${MAX_JTI_LENGTH} characters`)
    }
    const forgetAt = (exp + this.#clockToleranceSec + 1) * 1000
    switch (this.#seen.add(`${clientId}\u0000${jti}`, forgetAt, this.#now())) {
      case 'replayed': return fail('replayed', 'the token id was already used')
      case 'full': return fail('replayed', 'the token id memory is full; try again later')
      case 'added': return { ok: true, clientId, expiresAt: exp * 1000 }
    }
  }
}

/**
 * Remembers keys until their expiry (ms since the epoch), at most `max` at once. `#earliest` is a
 * lower bound of every held expiry, so a full cache with nothing expired is known without a scan.
 */
class ReplayCache {
  readonly #max: number
  readonly #entries = new Map<string, number>()
  #earliest = Infinity

  constructor (max: number) {
    this.#max = max
  }

  get size (): number {
    return this.#entries.size
  }

  add (key: string, expiresAt: number, now: number): 'added' | 'replayed' | 'full' {
    const held = this.#entries.get(key)
    if (held !== undefined && held > now) return 'replayed'
    if (held === undefined && this.#entries.size >= this.#max && !this.#sweep(now)) return 'full'
    this.#entries.set(key, expiresAt)
    this.#earliest = Math.min(this.#earliest, expiresAt)
    return 'added'
  }

  /** Drops expired entries; true when that made room. */
  #sweep (now: number): boolean {
    if (now < this.#earliest) return false
    let earliest = Infinity
    for (const [key, expiresAt] of this.#entries) {
      if (expiresAt <= now) this.#entries.delete(key)
      else earliest = Math.min(earliest, expiresAt)
    }
    this.#earliest = earliest
    return this.#entries.size < this.#max
  }
}

function secretKey (id: string, secret: string): VerifyKey {
  if (secret === '') throw new AuthConfigError('INVALID_KEY', `client ${JSON.stringify(id)} has an empty secret`)
  return { algorithms: ['HS256'], key: new TextEncoder().encode(secret) }
}

function publicKey (id: string, pem: string): VerifyKey {
  const what = `public key of client ${JSON.stringify(id)}`
  let key: KeyObject
  try {
    key = createPublicKey({ key: pem, format: 'pem' })
  } catch (err) {
    throw new AuthConfigError('INVALID_KEY', `${what} is not a PEM key`, { cause: err })
  }
  // RFC 9864 renames EdDSA-over-Ed25519 to "Ed25519": the same algorithm, so both names are fine.
  return { algorithms: algorithmOfKey(key, what) === 'ES256' ? ['ES256'] : ['EdDSA', 'Ed25519'], key }
}

function failureOf (err: unknown): VerifyResult {
  if (err instanceof errors.JWSSignatureVerificationFailed) return fail('bad-signature', 'the token signature does not verify')
  if (err instanceof errors.JWTExpired) return fail('expired', 'the token has expired')
  if (err instanceof errors.JOSEAlgNotAllowed) return fail('bad-algorithm', 'the token algorithm is not allowed')
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'nbf' || (err.claim === 'iat' && err.reason === 'check_failed')) {
      return fail('not-yet-valid', `the token "${err.claim}" is in the future`)
    }
    if (err.claim === 'aud' && err.reason === 'check_failed') return fail('bad-audience', 'the token is for another audience')
    return fail('bad-claims', `the token "${err.claim}" claim is ${err.reason === 'missing' ? 'missing' : 'wrong'}`)
  }
  return fail('malformed', 'the bearer token is not a valid JWS')
}

function fail (reason: VerifyFailure, message: string): VerifyResult {
  return { ok: false, reason, message }
}

function atLeast (name: string, value: number, min: number): number {
  if (!Number.isFinite(value) || value < min) throw new RangeError(`${name} must be a number >= ${min}, got ${value}`)
  return value
}
