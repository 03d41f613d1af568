/**
 * How a bridge proves who it is: before every connection attempt it signs a short-lived JWT
 * client assertion (RFC 7523 style, as OAuth's `client_secret_jwt` / `private_key_jwt`) and sends
 * it as `Authorization: Bearer <jwt>` on the WebSocket upgrade request. jose enters the agent here.
 */
import { createPrivateKey, randomBytes, type KeyObject } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { SignJWT } from 'jose'

/**
 * The bridge's signing key: the client secret (HS256), or a PEM private key whose type picks the
 * algorithm (P-256 -> ES256, Ed25519 -> EdDSA).
 */
export type AgentKey = { kind: 'secret', secret: string } | { kind: 'private-key', pem: string }

/** The JWS algorithms a bridge signs with. */
export type AgentAlgorithm = 'HS256' | 'ES256' | 'EdDSA'

/** Why the bridge's own key or cloud URL cannot be used. Local configuration, never a wire code. */
export class AuthConfigError extends Error {
  readonly code: 'INVALID_KEY' | 'INVALID_AUDIENCE'
  constructor (code: AuthConfigError['code'], message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'AuthConfigError'
    this.code = code
  }
}

/** Lifetime of a signed token, in seconds. */
export const DEFAULT_TOKEN_TTL_SEC = 60

interface SigningKey { readonly alg: AgentAlgorithm, readonly key: Uint8Array | KeyObject }

// Parsing a PEM on every reconnect is wasted work; keyed by the AgentKey object itself.
const signingKeys = new WeakMap<AgentKey, SigningKey>()

/**
 * Builds the bridge's key from its options and checks it can sign. Exactly one of the two must be
 * given.
 *
 * Secret length: RFC 7518 §3.2 wants an HS256 key of at least 32 bytes, but the client secret is
 * issued by the cloud and the bridge cannot choose it; refusing a short one would only break a
 * pairing the cloud accepted (the mock cloud's own examples use secrets like `s3cret`). So any
 * non-empty secret is accepted here, and a minimum belongs where secrets are issued.
 *
 * @throws {AuthConfigError} `INVALID_KEY` when no key or both are given, the secret is empty, the
 * file cannot be read, or the key is not an unencrypted P-256 or Ed25519 private key. The message
 * names the file, never the secret or key material.
 */
export async function loadAgentKey (opts: { clientSecret?: string, privateKeyFile?: string }): Promise<AgentKey> {
  const { clientSecret, privateKeyFile } = opts
  if (clientSecret !== undefined && privateKeyFile !== undefined) {
    throw new AuthConfigError('INVALID_KEY', 'give either --client-secret or --private-key-file, not both')
  }
  if (privateKeyFile !== undefined) {
    const key: AgentKey = { kind: 'private-key', pem: await readKeyFile(privateKeyFile) }
    signingKeyOf(key, `private key file ${privateKeyFile}`)
    return key
  }
  if (clientSecret === undefined) {
    throw new AuthConfigError('INVALID_KEY', 'no bridge credentials: give --client-secret (or --client-secret-file) or --private-key-file')
  }
  if (clientSecret.length === 0) throw new AuthConfigError('INVALID_KEY', 'the client secret is empty')
  return { kind: 'secret', secret: clientSecret }
}

async function readKeyFile (path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8')
  } catch (err) {
    const code = (err as { code?: unknown }).code
    throw new AuthConfigError('INVALID_KEY', `cannot read private key file ${path} (${String(code ?? 'error')})`, { cause: err })
  }
}

/**
 * Signs a fresh client assertion: `iss` = `sub` = `clientId`, `aud` = `audience`, `iat` = `nbf` =
 * now, `exp` = now + ttl, and a random 128-bit `jti` (base64url), so no two tokens are alike.
 *
 * @param audience the cloud's agent endpoint as given by {@link audienceOf}.
 * @param options.ttlSeconds token lifetime in seconds. @default 60
 * @param options.now clock in ms since the epoch. @default Date.now
 * @throws {AuthConfigError} `INVALID_KEY` when `key` cannot sign (see {@link loadAgentKey}).
 * @throws {RangeError} when `ttlSeconds` is not a positive integer.
 */
export async function signAgentToken (
  key: AgentKey,
  clientId: string,
  audience: string,
  options: { ttlSeconds?: number, now?: () => number } = {}
): Promise<string> {
  const { ttlSeconds = DEFAULT_TOKEN_TTL_SEC, now = Date.now } = options
  if (!Number.isSafeInteger(ttlSeconds) || ttlSeconds <= 0) {
    throw new RangeError(`ttlSeconds must be a positive integer, got ${ttlSeconds}`)
  }
  const signing = signingKeyOf(key, key.kind === 'secret' ? 'client secret' : 'private key')
  const iat = Math.floor(now() / 1000)
  return await new SignJWT({})
    .setProtectedHeader({ alg: signing.alg, typ: 'JWT' })
    .setIssuer(clientId)
    .setSubject(clientId)
    .setAudience(audience)
    .setIssuedAt(iat)
    .setNotBefore(iat)
    .setExpirationTime(iat + ttlSeconds)
    .setJti(randomBytes(16).toString('base64url'))
    .sign(signing.key)
}

function signingKeyOf (key: AgentKey, what: string): SigningKey {
  let signing = signingKeys.get(key)
  if (signing === undefined) {
    signing = key.kind === 'secret' ? secretKeyOf(key.secret) : privateKeyOf(key.pem, what)
    signingKeys.set(key, signing)
  }
  return signing
}

function secretKeyOf (secret: string): SigningKey {
  if (secret.length === 0) throw new AuthConfigError('INVALID_KEY', 'the client secret is empty')
  return { alg: 'HS256', key: new TextEncoder().encode(secret) }
}

function privateKeyOf (pem: string, what: string): SigningKey {
  let key: KeyObject
  try {
    key = createPrivateKey({ key: pem, format: 'pem' })
  } catch (err) {
    const encrypted = (err as { code?: unknown }).code === 'ERR_MISSING_PASSPHRASE'
    const why = encrypted ? 'is encrypted; give an unencrypted PKCS#8 key' : 'is not a PEM private key'
    throw new AuthConfigError('INVALID_KEY', `${what} ${why}`, { cause: err })
  }
  return { alg: algorithmOfKey(key, what), key }
}

/**
 * The one JWS algorithm a P-256 or Ed25519 key (private or public) is used with.
 * @throws {AuthConfigError} `INVALID_KEY` for any other key type or curve.
 */
export function algorithmOfKey (key: KeyObject, what: string): 'ES256' | 'EdDSA' {
  if (key.asymmetricKeyType === 'ed25519') return 'EdDSA'
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ES256'
  const type = key.asymmetricKeyType === 'ec' ? `EC ${key.asymmetricKeyDetails?.namedCurve ?? '?'}` : String(key.asymmetricKeyType)
  throw new AuthConfigError('INVALID_KEY', `${what} is a ${type} key; use a P-256 (ES256) or Ed25519 (EdDSA) key`)
}

const SCHEMES: Readonly<Record<string, string>> = Object.freeze({
  'ws:': 'ws', 'wss:': 'wss', 'http:': 'ws', 'https:': 'wss'
})

/**
 * The `aud` a bridge uses for a cloud URL, so that both ends agree on one spelling: scheme, host
 * (lower case, IPv6 in brackets), port unless the default one, and path; user info, query and
 * fragment dropped. `http`/`https` map to `ws`/`wss`, since the agent endpoint is one resource
 * reached by an HTTP upgrade; the cloud then derives the same value from its own listener.
 *
 * `audienceOf('WSS://Cloud.Example:443/agent?x=1')` is `'wss://cloud.example/agent'`.
 * @throws {AuthConfigError} `INVALID_AUDIENCE` when `cloudUrl` is not a ws, wss, http or https URL.
 */
export function audienceOf (cloudUrl: string): string {
  let url: URL
  try {
    url = new URL(cloudUrl)
  } catch (err) {
    throw new AuthConfigError('INVALID_AUDIENCE', 'the cloud URL is not a valid URL', { cause: err })
  }
  const scheme = SCHEMES[url.protocol]
  if (scheme === undefined) {
    throw new AuthConfigError('INVALID_AUDIENCE', `the cloud URL must be ws:// or wss://, not ${url.protocol}//`)
  }
  // URL already lower-cases the host and drops the scheme's default port; http and ws share
  // default ports (80, 443), so the mapping cannot leave a default port behind.
  return `${scheme}://${url.host}${url.pathname}`
}
