/**
 * The bridge's local store of endpoint credentials. The cloud names a credential in a call; only
 * the bridge holds the secret, in `${dataDir}/credentials.enc`, encrypted with AES-256-GCM.
 *
 * File layout: `OBCRED` magic and 1 version byte (both authenticated as AAD), 12-byte IV, 16-byte
 * auth tag, then the ciphertext of `{"entries":{NAME:{type,secret,username?,headerName?}}}`.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import { link, mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { Writable } from 'node:stream'

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

const STORE_FILE = 'credentials.enc'
const KEY_FILE = 'credentials.key'
const MAGIC = Buffer.from('OBCRED', 'latin1')
const FORMAT_VERSION = 1
const HEADER_LENGTH = MAGIC.length + 1
const IV_LENGTH = 12
const TAG_LENGTH = 16
const KEY_LENGTH = 32
const NAME_PATTERN = /^[A-Za-z0-9._-]{1,64}$/
const TOKEN_PATTERN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/
const TYPES: ReadonlySet<string> = new Set(['bearer', 'basic', 'header'])
// Headers that frame or route the request, which a credential must not replace.
const FORBIDDEN_HEADERS: ReadonlySet<string> = new Set([
  'connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection',
  'te', 'trailer', 'transfer-encoding', 'upgrade', 'host', 'content-length'
])

type Entries = Map<string, CredentialInput>

function invalid (message: string): CredentialError {
  return new CredentialError('INVALID_CREDENTIAL', message)
}

function storeError (message: string, cause?: unknown): CredentialError {
  return new CredentialError('CREDENTIAL_STORE', message, { cause })
}

function fsError (verb: string, path: string, err: unknown): CredentialError {
  const code = (err as { code?: unknown } | null)?.code
  return storeError(`cannot ${verb} ${path}: ${typeof code === 'string' ? code : 'I/O error'}`, err)
}

/** Checks everything but the secret, so the CLI can refuse before prompting for it. */
function validateShape (name: string, input: Omit<CredentialInput, 'secret'>): Omit<CredentialInput, 'secret'> {
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

function validateEntry (name: string, input: CredentialInput): CredentialInput {
  const shape = validateShape(name, input)
  if (typeof input.secret !== 'string' || input.secret === '') throw invalid('the secret is empty')
  if (/[\r\n\0]/.test(input.secret)) throw invalid('the secret must not contain CR, LF or NUL')
  return { ...shape, secret: input.secret }
}

function headerOf (entry: CredentialInput): readonly [string, string] {
  if (entry.type === 'bearer') return ['authorization', `Bearer ${entry.secret}`]
  if (entry.type === 'basic') {
    return ['authorization', `Basic ${Buffer.from(`${entry.username ?? ''}:${entry.secret}`, 'utf8').toString('base64')}`]
  }
  return [entry.headerName ?? '', entry.secret]
}

function encrypt (entries: Entries, key: Buffer): Buffer {
  const header = Buffer.concat([MAGIC, Buffer.from([FORMAT_VERSION])])
  const iv = randomBytes(IV_LENGTH)
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_LENGTH })
  cipher.setAAD(header)
  const plain = Buffer.from(JSON.stringify({ entries: Object.fromEntries(entries) }), 'utf8')
  const body = Buffer.concat([cipher.update(plain), cipher.final()])
  return Buffer.concat([header, iv, cipher.getAuthTag(), body])
}

function decrypt (blob: Buffer, key: Buffer, path: string): Entries {
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

function decodeKey (text: string, source: string): Buffer {
  const trimmed = text.trim()
  const key = Buffer.from(trimmed, 'base64')
  if (key.length !== KEY_LENGTH || !/^[A-Za-z0-9+/]+={0,2}$/.test(trimmed)) {
    throw storeError(`${source} must hold the base64 of ${KEY_LENGTH} bytes`)
  }
  return key
}

async function readOptional (path: string): Promise<Buffer | undefined> {
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

async function writeAtomic (path: string, data: Buffer): Promise<void> {
  const temp = await writeTemp(path, data)
  await rename(temp, path).catch(async (err: unknown) => {
    await unlink(temp).catch(() => {})
    throw fsError('replace', path, err)
  })
}

/** Creates the key file with a fresh key; `link` (not rename) so a concurrent creator wins cleanly. */
async function loadOrCreateKeyFile (path: string): Promise<Buffer> {
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

async function loadKeyFile (path: string): Promise<Buffer> {
  const text = await readOptional(path)
  if (text === undefined) {
    throw storeError(`the key ${path} is missing: restore it, or set ${CREDENTIALS_KEY_ENV}`)
  }
  return decodeKey(text.toString('utf8'), path)
}

/** What identifies one version of a file: '' when it does not exist. */
async function fileStamp (path: string): Promise<string> {
  try {
    const st = await stat(path)
    return `${st.ino}:${st.mtimeMs}:${st.size}`
  } catch {
    return ''
  }
}

/** The encrypted credential store in a data directory. */
export class CredentialStore {
  readonly #dataDir: string
  readonly #path: string
  #key: Buffer | undefined
  #entries: Entries = new Map()
  /** Identity of the file last read (inode, mtime, size); writes are atomic renames. */
  #stamp = ''

  private constructor (dataDir: string, key: Buffer | undefined) {
    this.#dataDir = dataDir
    this.#path = join(dataDir, STORE_FILE)
    this.#key = key
  }

  /**
   * Opens the store in `dataDir` (nothing is created until the first `set`). The key is
   * `options.key` (32 bytes), else base64 in `env.OUTBRIDGE_CREDENTIALS_KEY`, else the file
   * `${dataDir}/credentials.key` (created 0600 on first write, in a 0700 directory).
   * @param options.env where to look for the key variable. @default process.env
   */
  static async open (dataDir: string, options: { env?: NodeJS.ProcessEnv, key?: Uint8Array } = {}): Promise<CredentialStore> {
    const fromEnv = (options.env ?? process.env)[CREDENTIALS_KEY_ENV]
    let key: Buffer | undefined
    if (options.key !== undefined) {
      if (options.key.length !== KEY_LENGTH) throw storeError(`the credential key must be ${KEY_LENGTH} bytes`)
      key = Buffer.from(options.key)
    } else if (fromEnv !== undefined && fromEnv !== '') {
      key = decodeKey(fromEnv, CREDENTIALS_KEY_ENV)
    }
    const store = new CredentialStore(dataDir, key)
    await store.reload()
    return store
  }

  /** Adds or replaces credential `name`; throws `INVALID_CREDENTIAL` on a bad name or input. */
  async set (name: string, input: CredentialInput): Promise<void> {
    const entry = validateEntry(name, input)
    await this.reload()
    await this.#write(new Map(this.#entries).set(name, entry))
  }

  /** Names, types, usernames and header names, sorted by name; never a secret. */
  list (): CredentialSummary[] {
    return [...this.#entries.keys()].sort().map((name) => {
      const { secret: _secret, ...summary } = this.#entries.get(name) as CredentialInput
      return { name, ...summary }
    })
  }

  /** Deletes `name`; false when there was no such credential. */
  async remove (name: string): Promise<boolean> {
    await this.reload()
    const next = new Map(this.#entries)
    if (!next.delete(name)) return false
    await this.#write(next)
    return true
  }

  /** The header the bridge adds for credential `name`, e.g. `['authorization', 'Bearer x']`. */
  headerFor (name: string): readonly [string, string] | undefined {
    const entry = this.#entries.get(name)
    return entry === undefined ? undefined : headerOf(entry)
  }

  /**
   * Re-reads the file when it changed since the last read (one stat otherwise), so a
   * `credentials set` or `remove` made while the agent runs takes effect on the next call.
   */
  async refresh (): Promise<void> {
    if (await fileStamp(this.#path) !== this.#stamp) await this.reload()
  }

  /** Re-reads the file. */
  async reload (): Promise<void> {
    this.#stamp = await fileStamp(this.#path)
    const blob = await readOptional(this.#path)
    if (blob === undefined) {
      this.#entries = new Map()
      return
    }
    this.#key ??= await loadKeyFile(join(this.#dataDir, KEY_FILE))
    this.#entries = decrypt(blob, this.#key, this.#path)
  }

  async #write (entries: Entries): Promise<void> {
    await mkdir(this.#dataDir, { recursive: true, mode: 0o700 }).catch((err: unknown) => {
      throw fsError('create', this.#dataDir, err)
    })
    this.#key ??= await loadOrCreateKeyFile(join(this.#dataDir, KEY_FILE))
    await writeAtomic(this.#path, encrypt(entries, this.#key))
    this.#entries = entries
    this.#stamp = await fileStamp(this.#path)
  }
}

/** Turns a store failure into a one-line message on `out`: exit 2 for bad input, 1 for the store. */
async function runAction (out: NodeJS.WritableStream, action: () => Promise<number>): Promise<number> {
  try {
    return await action()
  } catch (err) {
    if (!(err instanceof CredentialError)) throw err
    out.write(`${err.message}\n`)
    return err.code === 'INVALID_CREDENTIAL' ? 2 : 1
  }
}

async function readAll (stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of stream) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk
    size += bytes.length
    if (size > MAX_SECRET_BYTES) throw invalid(`the secret is longer than ${MAX_SECRET_BYTES} bytes`)
    chunks.push(bytes)
  }
  return Buffer.concat(chunks).toString('utf8')
}

/** Reads one line from a terminal without echo: readline in raw mode echoes only to a sink. */
async function promptHidden (stdin: NodeJS.ReadableStream, out: NodeJS.WritableStream, prompt: string): Promise<string> {
  out.write(prompt)
  const sink = new Writable({ write (_chunk, _encoding, callback) { callback() } })
  const rl = createInterface({ input: stdin, output: sink, terminal: true, historySize: 0 })
  try {
    return await new Promise<string>((resolve, reject) => {
      rl.once('line', resolve)
      rl.once('SIGINT', () => { reject(invalid('cancelled')) })
      rl.once('close', () => { reject(invalid('no secret given')) })
    })
  } finally {
    rl.close()
    out.write('\n')
  }
}

/**
 * `outbridge credentials set NAME --type T [--username U] [--header-name H]`: reads the secret
 * from `stdin` (one trailing newline stripped; a prompt without echo when stdin is a TTY).
 * @returns 0 saved, 2 bad input, 1 store failure (with a one-line message on `out`)
 */
export async function credentialsSet (
  dataDir: string, name: string, opts: { type: CredentialType, username?: string, headerName?: string },
  stdin: NodeJS.ReadableStream, out: NodeJS.WritableStream, env?: NodeJS.ProcessEnv
): Promise<number> {
  return await runAction(out, async () => {
    validateShape(name, opts)
    const isTty = (stdin as { isTTY?: boolean }).isTTY === true
    const raw = isTty ? await promptHidden(stdin, out, `secret for ${name}: `) : await readAll(stdin)
    const store = await CredentialStore.open(dataDir, { env })
    await store.set(name, { ...opts, secret: raw.replace(/\r?\n$/, '') })
    out.write(`saved credential ${name} (${opts.type})\n`)
    return 0
  })
}

/** `outbridge credentials list`: one `NAME\tTYPE[\tUSERNAME|HEADER]` line each, or `no credentials`. */
export async function credentialsList (dataDir: string, out: NodeJS.WritableStream, env?: NodeJS.ProcessEnv): Promise<number> {
  return await runAction(out, async () => {
    const summaries = (await CredentialStore.open(dataDir, { env })).list()
    if (summaries.length === 0) out.write('no credentials\n')
    for (const { name, type, username, headerName } of summaries) {
      out.write([name, type, username ?? headerName].filter((field) => field !== undefined).join('\t') + '\n')
    }
    return 0
  })
}

/** `outbridge credentials remove NAME`. @returns 0 removed, 1 not found or store failure, 2 bad name */
export async function credentialsRemove (dataDir: string, name: string, out: NodeJS.WritableStream, env?: NodeJS.ProcessEnv): Promise<number> {
  return await runAction(out, async () => {
    if (!NAME_PATTERN.test(name)) throw invalid('credential name must be 1-64 of A-Z a-z 0-9 . _ -')
    const removed = await (await CredentialStore.open(dataDir, { env })).remove(name)
    out.write(removed ? `removed credential ${name}\n` : `no credential named ${name}\n`)
    return removed ? 0 : 1
  })
}
