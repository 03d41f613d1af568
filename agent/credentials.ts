/**
 * The bridge's local store of endpoint credentials. The cloud names a credential in a call; only
 * the bridge holds the secret, encrypted at rest (see credential-format.ts).
 */
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import {
  CREDENTIALS_KEY_ENV, KEY_FILE, KEY_LENGTH, STORE_FILE,
  decodeKey, decrypt, encrypt, fileStamp, fsError, loadKeyFile, loadOrCreateKeyFile, readOptional, storeError, validateEntry, writeAtomic,
  type CredentialInput, type CredentialSummary, type Entries
} from './credential-format.js'

export { CREDENTIALS_KEY_ENV, CredentialError, MAX_SECRET_BYTES } from './credential-format.js'
export type { CredentialErrorCode, CredentialInput, CredentialSummary, CredentialType } from './credential-format.js'

function headerOf (entry: CredentialInput): readonly [string, string] {
  if (entry.type === 'bearer') return ['authorization', `Bearer ${entry.secret}`]
  if (entry.type === 'basic') {
    return ['authorization', `Basic ${Buffer.from(`${entry.username ?? ''}:${entry.secret}`, 'utf8').toString('base64')}`]
  }
  return [entry.headerName ?? '', entry.secret]
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
