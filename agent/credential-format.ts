/**
 * The credential store's file format and key handling: `${dataDir}/credentials.enc`, encrypted
 * with AES-256-GCM under a 32-byte key from `credentials.key` (0600) or the environment.
 *
 * File layout: `OBCRED` magic and 1 version byte (both authenticated as AAD), 12-byte IV, 16-byte
 * auth tag, then the ciphertext of `{"entries":{NAME:{type,secret,username?,headerName?}}}`.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import { link, open, readFile, rename, stat, unlink } from 'node:fs/promises'

export type CredentialType = 'bearer' | 'basic' | 'header'
export interface CredentialInput { type: CredentialType, secret: string, username?: string, headerName?: string }
/** What `list()` shows: never the secret. */
export interface CredentialSummary { name: string, type: CredentialType, username?: string, headerName?: string }
export type CredentialErrorCode = 'INVALID_CREDENTIAL' | 'CREDENTIAL_STORE'

/** A refused credential or an unusable store. Messages never contain a secret. */
export class CredentialError extends Error {
  readonly code: CredentialErrorCode
  constructor (code: CredentialErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'CredentialError'
    this.code = code
  }
}

/** Environment variable that may hold the store key: base64 of 32 bytes. */
export const CREDENTIALS_KEY_ENV = 'OUTBRIDGE_CREDENTIALS_KEY'
/** Largest secret `credentialsSet` reads, in bytes. */
export const MAX_SECRET_BYTES = 65_536

export const STORE_FILE = 'credentials.enc'
export const KEY_FILE = 'credentials.key'
const MAGIC = Buffer.from('OBCRED', 'latin1')
const FORMAT_VERSION = 1
const HEADER_LENGTH = MAGIC.length + 1
const IV_LENGTH = 12
const TAG_LENGTH = 16
export const KEY_LENGTH = 32
export const NAME_PATTERN = /^[A-Za-z0-9._-]{1,64}$/
export const TOKEN_PATTERN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/
const TYPES: ReadonlySet<string> = new Set(['bearer', 'basic', 'header'])
// Headers that frame or route the request, which a credential must not replace.
const FORBIDDEN_HEADERS: ReadonlySet<string> = new Set([
  'connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection',
  'te', 'trailer', 'transfer-encoding', 'upgrade', 'host', 'content-length'
])

export type Entries = Map<string, CredentialInput>

export function invalid (message: string): CredentialError {
  return new CredentialError('INVALID_CREDENTIAL', message)
}

export function storeError (message: string, cause?: unknown): CredentialError {
  return new CredentialError('CREDENTIAL_STORE', message, { cause })
}

export function fsError (verb: string, path: string, err: unknown): CredentialError {
  const code = (err as { code?: unknown } | null)?.code
  return storeError(`cannot ${verb} ${path}: ${typeof code === 'string' ? code : 'I/O error'}`, err)
}


export function encrypt (entries: Entries, key: Buffer): Buffer {
  const header = Buffer.concat([MAGIC, Buffer.from([FORMAT_VERSION])])
  const iv = randomBytes(IV_LENGTH)
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_LENGTH })
  cipher.setAAD(header)
  const plain = Buffer.from(JSON.stringify({ entries: Object.fromEntries(entries) }), 'utf8')
  const body = Buffer.concat([cipher.update(plain), cipher.final()])
  return Buffer.concat([header, iv, cipher.getAuthTag(), body])
}

export function decrypt (blob: Buffer, key: Buffer, path: string): Entries {
  if (blob.length < HEADER_LENGTH + IV_LENGTH + TAG_LENGTH || !blob.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw storeError(`${path} is not an outbridge credential store`)
  }
  if (blob[MAGIC.length] !== FORMAT_VERSION) throw storeError(`${path} has unsupported format version ${blob[MAGIC.length]}`)
  const ivEnd = HEADER_LENGTH + IV_LENGTH
  const decipher = createDecipheriv('aes-256-gcm', key, blob.subarray(HEADER_LENGTH, ivEnd), { authTagLength: TAG_LENGTH })
  decipher.setAAD(blob.subarray(0, HEADER_LENGTH))
  decipher.setAuthTag(blob.subarray(ivEnd, ivEnd + TAG_LENGTH))
  let plain: Buffer
  try {
    plain = Buffer.concat([decipher.update(blob.subarray(ivEnd + TAG_LENGTH)), decipher.final()])
  } catch (err) {
    throw storeError(`cannot decrypt ${path}: wrong key, or the file was modified`, err)
  }
  return parseEntries(plain, path)
}

// No `cause` here: a JSON or validation error could quote the plaintext.
function parseEntries (plain: Buffer, path: string): Entries {
  try {
    const doc = JSON.parse(plain.toString('utf8')) as { entries?: Record<string, CredentialInput> }
    return new Map(Object.entries(doc.entries ?? {}).map(([name, entry]) => [name, validateEntry(name, entry)]))
  } catch {
    throw storeError(`${path} holds malformed entries`)
  }
}

export function decodeKey (text: string, source: string): Buffer {
  const trimmed = text.trim()
  const key = Buffer.from(trimmed, 'base64')
  if (key.length !== KEY_LENGTH || !/^[A-Za-z0-9+/]+={0,2}$/.test(trimmed)) {
    throw storeError(`${source} must hold the base64 of ${KEY_LENGTH} bytes`)
  }
  return key
}

export async function readOptional (path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path)
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ENOENT') return undefined
    throw fsError('read', path, err)
  }
}

/** Writes `data` to a fresh 0600 temp file beside `path`, flushed, and returns its name. */
async function writeTemp (path: string, data: Buffer | string): Promise<string> {
  const temp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`
  try {
    const handle = await open(temp, 'wx', 0o600)
    try {
      await handle.writeFile(data)
      await handle.sync()
    } finally {
      await handle.close()
    }
    return temp
  } catch (err) {
    await unlink(temp).catch(() => {})
    throw fsError('write', path, err)
  }
}

export async function writeAtomic (path: string, data: Buffer): Promise<void> {
  const temp = await writeTemp(path, data)
  await rename(temp, path).catch(async (err: unknown) => {
    await unlink(temp).catch(() => {})
    throw fsError('replace', path, err)
  })
}

/** Creates the key file with a fresh key; `link` (not rename) so a concurrent creator wins cleanly. */
export async function loadOrCreateKeyFile (path: string): Promise<Buffer> {
  const key = randomBytes(KEY_LENGTH)
  const temp = await writeTemp(path, `${key.toString('base64')}\n`)
  try {
    await link(temp, path)
    return key
  } catch (err) {
    if ((err as { code?: unknown }).code !== 'EEXIST') throw fsError('create', path, err)
  } finally {
    await unlink(temp).catch(() => {})
  }
  return await loadKeyFile(path)
}

export async function loadKeyFile (path: string): Promise<Buffer> {
  const text = await readOptional(path)
  if (text === undefined) {
    throw storeError(`the key ${path} is missing: restore it, or set ${CREDENTIALS_KEY_ENV}`)
  }
  return decodeKey(text.toString('utf8'), path)
}

/** What identifies one version of a file: '' when it does not exist. */
export async function fileStamp (path: string): Promise<string> {
  try {
    const st = await stat(path)
    return `${st.ino}:${st.mtimeMs}:${st.size}`
  } catch {
    return ''
  }
}

export function validateShape (name: string, input: Omit<CredentialInput, 'secret'>): Omit<CredentialInput, 'secret'> {
  if (!NAME_PATTERN.test(name)) throw invalid('credential name must be 1-64 of A-Z a-z 0-9 . _ -')
  if (!TYPES.has(input.type)) throw invalid('credential type must be bearer, basic or header')
  if (input.type !== 'basic' && input.username !== undefined) throw invalid('--username applies to --type basic only')
  if (input.type !== 'header' && input.headerName !== undefined) throw invalid('--header-name applies to --type header only')
  if (input.type === 'basic') {
    const username = input.username ?? ''
    if (username === '' || username.includes(':') || /[\x00-\x1f\x7f]/.test(username)) {
      throw invalid('--type basic needs a --username without ":" or control characters')
    }
    return { type: 'basic', username }
  }
  if (input.type === 'header') {
    const headerName = (input.headerName ?? '').toLowerCase()
    if (!TOKEN_PATTERN.test(headerName)) throw invalid('--type header needs a valid --header-name')
    if (FORBIDDEN_HEADERS.has(headerName)) throw invalid(`--header-name ${headerName} is not allowed`)
    return { type: 'header', headerName }
  }
  return { type: input.type }
}

export function validateEntry (name: string, input: CredentialInput): CredentialInput {
  const shape = validateShape(name, input)
  if (typeof input.secret !== 'string' || input.secret === '') throw invalid('the secret is empty')
  if (/[\r\n\0]/.test(input.secret)) throw invalid('the secret must not contain CR, LF or NUL')
  return { ...shape, secret: input.secret }
}
