/**
 * Reading one option from its three sources, flag > `OUTBRIDGE_*` env > `--config` file, and
 * turning the raw text or JSON value into a typed one. Errors name the flag and where the value
 * came from, never the value itself (it may be a secret).
 */

/** A bad flag, env variable or config file; the CLI prints the message and exits 2. */
export class OptionsError extends Error {
  readonly code = 'INVALID_OPTION'
  /** The flag at fault, e.g. `--port`. */
  readonly flag: string
  constructor (flag: string, message: string, options?: { cause?: unknown }) {
    super(`${flag} ${message}`, options)
    this.name = 'OptionsError'
    this.flag = flag
  }
}

/** Where options come from; every record is keyed the camelCase way (`cloudUrl`). */
export interface OptionSources {
  /** Parsed command-line flags: strings, booleans, or string arrays for repeated flags. */
  readonly flags: Readonly<Record<string, unknown>>
  /** The environment; only `OUTBRIDGE_*` names are read. */
  readonly env: Readonly<Record<string, string | undefined>>
  /** The parsed `--config` JSON object (`{}` without one). */
  readonly file: Readonly<Record<string, unknown>>
}

export type Layer = 'flag' | 'env' | 'file'
/** The sources from highest to lowest precedence. */
export const LAYERS: readonly Layer[] = Object.freeze(['flag', 'env', 'file'])

interface Raw { readonly value: unknown, readonly layer: Layer }

/** `cloudUrl` -> `--cloud-url`. */
export function flagName (key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`
}

/** `cloudUrl` -> `OUTBRIDGE_CLOUD_URL`. */
export function envName (key: string): string {
  return `OUTBRIDGE_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`
}

function rawFrom (s: OptionSources, layer: Layer, key: string): Raw | undefined {
  const value = layer === 'flag' ? s.flags[key] : layer === 'env' ? s.env[envName(key)] : s.file[key]
  // An empty environment variable counts as unset, as shells and systemd tend to leave them.
  if (value === undefined || (layer === 'env' && value === '')) return undefined
  return { value, layer }
}

function raw (s: OptionSources, key: string): Raw | undefined {
  for (const layer of LAYERS) {
    const found = rawFrom(s, layer, key)
    if (found !== undefined) return found
  }
  return undefined
}

function fail (key: string, layer: Layer, message: string): OptionsError {
  const where = layer === 'flag' ? '' : layer === 'env' ? ` (from ${envName(key)})` : ` (from config key "${key}")`
  return new OptionsError(flagName(key), `${message}${where}`)
}

function toString (key: string, found: Raw): string {
  if (Array.isArray(found.value)) throw fail(key, found.layer, 'is given more than once')
  if (typeof found.value !== 'string') throw fail(key, found.layer, 'must be a string')
  if (found.value === '') throw fail(key, found.layer, 'must not be empty')
  return found.value
}

/** The string from one layer only, or undefined. */
export function readStringFrom (s: OptionSources, layer: Layer, key: string): string | undefined {
  const found = rawFrom(s, layer, key)
  return found === undefined ? undefined : toString(key, found)
}

/** A non-empty string option. */
export function readString (s: OptionSources, key: string): string | undefined {
  const found = raw(s, key)
  return found === undefined ? undefined : toString(key, found)
}

/** A boolean: a flag, `true/false/1/0` from env, a JSON boolean from the file. */
export function readBool (s: OptionSources, key: string): boolean | undefined {
  const found = raw(s, key)
  if (found === undefined) return undefined
  const { value, layer } = found
  if (typeof value === 'boolean') return value
  if (typeof value === 'string' && layer !== 'file') {
    const text = value.toLowerCase()
    if (text === 'true' || text === '1') return true
    if (text === 'false' || text === '0') return false
  }
  throw fail(key, layer, Array.isArray(value) ? 'is given more than once' : 'must be true, false, 1 or 0')
}

/** An integer in `[min, max]`: decimal digits from flags and env, a JSON number from the file. */
export function readInt (s: OptionSources, key: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  const found = raw(s, key)
  if (found === undefined) return undefined
  const { value, layer } = found
  const n = typeof value === 'number' && layer === 'file'
    ? value
    : /^\d+$/.test(toString(key, found)) ? Number(value) : Number.NaN
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer from ${min} to ${max}`
    throw fail(key, layer, `must be ${range}`)
  }
  return n
}

/** A repeatable option: repeated flags, a comma-separated env variable, or a JSON array. */
export function readList (s: OptionSources, key: string): readonly string[] | undefined {
  const found = raw(s, key)
  if (found === undefined) return undefined
  const { value, layer } = found
  const items = layer === 'env' && typeof value === 'string' ? value.split(',').map((item) => item.trim()) : value
  const list = Array.isArray(items) ? items : layer === 'flag' ? [items] : undefined
  if (list === undefined || !list.every((item) => typeof item === 'string' && item !== '')) {
    throw fail(key, layer, layer === 'file' ? 'must be an array of non-empty strings' : 'must not have empty entries')
  }
  return Object.freeze(list as string[])
}

/** A string option that must be given. */
export function readRequired (s: OptionSources, key: string): string {
  const value = readString(s, key)
  if (value === undefined) throw new OptionsError(flagName(key), 'is required')
  return value
}

/** A string option limited to `choices`. */
export function readOneOf<T extends string> (s: OptionSources, key: string, choices: readonly T[]): T | undefined {
  const value = readString(s, key)
  if (value === undefined || (choices as readonly string[]).includes(value)) return value as T | undefined
  throw new OptionsError(flagName(key), `must be one of ${choices.join(', ')}`)
}

/** A URL option whose scheme (`ws:`) is one of `schemes`. */
export function readUrl (s: OptionSources, key: string, schemes: readonly string[]): string | undefined {
  const text = readString(s, key)
  if (text === undefined) return undefined
  const protocol = URL.canParse(text) ? new URL(text).protocol : ''
  if (!schemes.includes(protocol)) throw new OptionsError(flagName(key), `must be a ${schemes.map((p) => `${p}//`).join(' or ')} URL`)
  return text
}

/**
 * Parses the `--config` file's text into its options object.
 * @param keys the camelCase keys the command family knows
 * @throws OptionsError naming `--config` when the text is not a JSON object or has an unknown key
 */
export function parseConfigFile (text: string, path: string, keys: ReadonlySet<string>): Record<string, unknown> {
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch {
    throw new OptionsError('--config', `${path} is not valid JSON`)
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new OptionsError('--config', `${path} must hold a JSON object`)
  }
  for (const key of Object.keys(doc)) {
    if (!keys.has(key)) throw new OptionsError('--config', `${path} has unknown key "${key}"`)
  }
  return doc as Record<string, unknown>
}
