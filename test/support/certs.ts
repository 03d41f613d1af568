/**
 * A throw-away PKI for TLS tests, made at run time with the `openssl` CLI: a private CA, a server
 * certificate it signed for `127.0.0.1` and `localhost`, and a second, unrelated CA (for "the
 * wrong CA" cases). Keys are P-256, certificates live one day. Nothing is checked in. Plus an
 * HTTPS client that trusts such a CA, for talking to a TLS cloud's API.
 */
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { Agent, fetch } from 'undici'

const run = promisify(execFile)

/** Paths of the PEM files {@link makeTestPki} wrote. */
export interface TestPki {
  /** The folder holding every file. */
  readonly dir: string
  /** The CA that signed {@link serverCert}. */
  readonly caCert: string
  /** Leaf certificate with SAN `IP:127.0.0.1, DNS:localhost`, signed by {@link caCert}. */
  readonly serverCert: string
  /** The leaf's unencrypted private key. */
  readonly serverKey: string
  /** A CA that signed nothing here: trusting it alone must not verify {@link serverCert}. */
  readonly otherCaCert: string
}

/** An error whose `code` is `ERR_OPENSSL_CLI` when the `openssl` command is missing or fails. */
export class OpensslError extends Error {
  readonly code = 'ERR_OPENSSL_CLI'
  constructor (args: readonly string[], cause: unknown) {
    super(`openssl ${args[0]} failed (is the openssl CLI installed?)`, { cause })
    this.name = 'OpensslError'
  }
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']

const SERVER_EXTENSIONS = [
  'basicConstraints = critical, CA:FALSE',
  'keyUsage = critical, digitalSignature',
  'extendedKeyUsage = serverAuth',
  'subjectAltName = IP:127.0.0.1, DNS:localhost',
  'subjectKeyIdentifier = hash',
  'authorityKeyIdentifier = keyid'
].join('\n')

async function openssl (args: string[]): Promise<void> {
  try {
    await run('openssl', args, { timeout: 10_000 })
  } catch (err) {
    throw new OpensslError(args, err)
  }
}

/** A self-signed CA certificate and key at `<dir>/<name>.pem` and `<dir>/<name>.key`. */
async function makeCa (dir: string, name: string, commonName: string): Promise<{ cert: string, key: string }> {
  const cert = join(dir, `${name}.pem`)
  const key = join(dir, `${name}.key`)
  await openssl([
    'req', '-x509', ...EC_KEY, '-keyout', key, '-out', cert, '-days', '1', '-subj', `/CN=${commonName}`,
    '-addext', 'basicConstraints = critical, CA:TRUE',
    '-addext', 'keyUsage = critical, keyCertSign, cRLSign'
  ])
  return { cert, key }
}

/**
 * Writes a fresh PKI into `dir` (a new temp folder when left out; the caller removes it).
 * @throws {OpensslError} when the `openssl` CLI is missing or fails.
 */
export async function makeTestPki (dir?: string): Promise<TestPki> {
  const out = dir ?? await mkdtemp(join(tmpdir(), 'outbridge-pki-'))
  const [ca, other] = await Promise.all([
    makeCa(out, 'ca', 'outbridge test CA'),
    makeCa(out, 'other-ca', 'outbridge unrelated CA')
  ])
  const serverKey = join(out, 'server.key')
  const serverCert = join(out, 'server.pem')
  const csr = join(out, 'server.csr')
  const extensions = join(out, 'server.ext')
  await writeFile(extensions, `${SERVER_EXTENSIONS}\n`)
  await openssl(['req', '-new', ...EC_KEY, '-keyout', serverKey, '-out', csr, '-subj', '/CN=localhost'])
  await openssl([
    'x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial',
    '-out', serverCert, '-days', '1', '-extfile', extensions
  ])
  return { dir: out, caCert: ca.cert, serverCert, serverKey, otherCaCert: other.cert }
}

/** `fetch` trusting only the CA in `caCert` (a PEM path); {@link TrustingFetch.close} frees its sockets. */
export interface TrustingFetch {
  fetch (url: string, init?: Parameters<typeof fetch>[1]): ReturnType<typeof fetch>
  close (): Promise<void>
}

/** A `fetch` (undici) whose TLS trusts only the CA in `caCert`. */
export function trustingFetch (caCert: string): TrustingFetch {
  const dispatcher = new Agent({ connect: { ca: readFileSync(caCert, 'utf8') } })
  return {
    fetch: (url, init) => fetch(url, { ...init, dispatcher }),
    close: () => dispatcher.close()
  }
}
