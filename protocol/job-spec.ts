/**
 * The sync job model (issue #5), shared by the cloud (which accepts jobs on its API and offers
 * them) and the bridge (which runs them). PROTOCOL.md "Sync jobs" is the prose of this file.
 * Pure: no I/O. `readJobSpec` builds a fresh spec from known fields only, like validate.ts does
 * for frame heads, and throws {@link JobSpecError} naming the first bad field.
 */
import type { HeaderList } from './frames.js'

/** How often a job runs. `once` runs one time; the others become due again after their period. */
export const JOB_FREQUENCIES = Object.freeze(['once', 'hourly', 'daily', 'weekly', 'monthly'] as const)
export type JobFrequency = (typeof JOB_FREQUENCIES)[number]

/** Bounds on a job, checked when it is created and again when the bridge receives it. */
export const JOB_LIMITS = Object.freeze({
  /** Most steps in a job. */
  maxSteps: 32,
  /** Highest `maxPages` a pull may ask for. */
  maxPages: 100_000,
  /** `maxPages` of a pull that names none. */
  defaultMaxPages: 100,
  /** Most header pairs per step. */
  maxHeaders: 64,
  /** Max bytes of one step's request body. */
  maxBodyBytes: 16 * 1024,
  /** Max characters of a path, base URL or next-page URL. */
  maxUrlLength: 8 * 1024,
  /** Max characters of a job or step name, a selector, a credential or field name. */
  maxNameLength: 128,
  /** Max of all the job's text and body sizes together, in bytes (keeps an offer one small frame). */
  maxSpecBytes: 64 * 1024,
  /** Highest `timeoutMs` / `pageDelayMs`, in ms. */
  maxTimeoutMs: 3_600_000
})

/** Where a job's steps go: `baseUrl` + each step's `path`; `credential` names a credential stored on the bridge. */
export interface JobConnection {
  /** Absolute `http://` or `https://` URL without query or fragment, e.g. `http://10.0.0.5:8080/api`. */
  readonly baseUrl: string
  readonly credential?: string
}

interface StepBase {
  /** For results and summaries. @default `step-N` */
  readonly name: string
  /** Starts with `/`; appended to the connection's `baseUrl`. */
  readonly path: string
  /** Extra request headers, flat `[name, value, ...]`. */
  readonly headers: HeaderList
  /** Per request, in ms; 0 = the bridge's `--request-timeout`. */
  readonly timeoutMs: number
}

/** One plain HTTP request; succeeds on a 2xx answer. */
export interface RequestStep extends StepBase {
  readonly kind: 'request'
  /** @default 'GET' */
  readonly method: string
  readonly body?: Uint8Array
}

/**
 * GET pages one after the other, following the next page from the `Link: <...>; rel="next"`
 * header (`nextFrom: 'link'`) or from a JSON field of the page (`nextFrom: 'field'`, dotted
 * `nextField` such as `next` or `meta.next`), until there is none or `maxPages` were fetched.
 */
export interface PullStep extends StepBase {
  readonly kind: 'pull'
  readonly nextFrom: 'link' | 'field'
  readonly nextField?: string
  /** @default 100 */
  readonly maxPages: number
  /** Dotted JSON field holding each page's items; the cloud gathers them into `items`. */
  readonly itemsField?: string
  /** Pause between two pages, in ms. @default 0 */
  readonly pageDelayMs: number
}

export type JobStep = RequestStep | PullStep

export interface JobSpec {
  readonly name: string
  readonly frequency: JobFrequency
  /** Bridge selector (its name or client id); absent or `_` = any bridge. */
  readonly bridge?: string
  readonly connection: JobConnection
  readonly steps: readonly JobStep[]
}

/** A job or job frame field that is missing or malformed; the message names it. */
export class JobSpecError extends Error {
  override name = 'JobSpecError'
}

export type Fields = Readonly<Record<string, unknown>>

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
const BAD_VALUE_CHAR = /[^\t\x20-\x7e\x80-\xff]/
const DOTTED = /^[A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+)*$/

/** `value` as a plain map, else a JobSpecError naming `what`. */
export function asFields (value: unknown, what: string): Fields {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Uint8Array) {
    throw new JobSpecError(`${what} must be a map`)
  }
  return value as Fields
}

/** An integer field from `min` to `max`; `fallback` when absent. */
export function intField (f: Fields, name: string, min: number, max: number, fallback?: number): number {
  const v = f[name] ?? fallback
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new JobSpecError(`field "${name}" must be an integer from ${min} to ${max}`)
  }
  return v
}

/** A string field of 1 to `max` characters (0 allowed with `allowEmpty`); `fallback` when absent. */
export function textField (f: Fields, name: string, max: number, fallback?: string, allowEmpty = false): string {
  const v = f[name] ?? fallback
  if (typeof v !== 'string' || v.length > max || (!allowEmpty && v.length === 0)) {
    throw new JobSpecError(`field "${name}" must be a ${allowEmpty ? '' : 'non-empty '}string of at most ${max} characters`)
  }
  return v
}

/** Like {@link textField}, undefined when absent or null. */
export function optionalText (f: Fields, name: string, max: number): string | undefined {
  return f[name] === undefined || f[name] === null ? undefined : textField(f, name, max)
}

/** One of `values`; `fallback` when absent. */
export function oneOf<T extends string> (f: Fields, name: string, values: readonly T[], fallback?: T): T {
  const v = f[name] ?? fallback
  if (typeof v !== 'string' || !values.includes(v as T)) throw new JobSpecError(`field "${name}" must be one of ${values.join(', ')}`)
  return v as T
}

function headerList (f: Fields): HeaderList {
  const v = f.headers ?? []
  if (!Array.isArray(v) || v.length % 2 !== 0 || v.length > 2 * JOB_LIMITS.maxHeaders) {
    throw new JobSpecError(`field "headers" must be a flat list of at most ${JOB_LIMITS.maxHeaders} name/value pairs`)
  }
  return v.map((s: unknown, i) => {
    if (typeof s !== 'string' || (i % 2 === 0 ? !TOKEN.test(s) : BAD_VALUE_CHAR.test(s))) {
      throw new JobSpecError(`field "headers" holds an invalid header ${i % 2 === 0 ? 'name' : 'value'}`)
    }
    return s
  })
}

function dotted (f: Fields, name: string): string | undefined {
  const v = optionalText(f, name, JOB_LIMITS.maxNameLength)
  if (v !== undefined && !DOTTED.test(v)) throw new JobSpecError(`field "${name}" must be a dotted field name such as "next" or "meta.next"`)
  return v
}

function readStep (value: unknown, index: number): JobStep {
  const f = asFields(value, `steps[${index}]`)
  const path = textField(f, 'path', JOB_LIMITS.maxUrlLength)
  if (!path.startsWith('/')) throw new JobSpecError(`steps[${index}]: field "path" must start with /`)
  const base = {
    name: textField(f, 'name', JOB_LIMITS.maxNameLength, `step-${index + 1}`),
    path,
    headers: headerList(f),
    timeoutMs: intField(f, 'timeoutMs', 0, JOB_LIMITS.maxTimeoutMs, 0)
  }
  const kind = oneOf(f, 'kind', ['request', 'pull'])
  if (kind === 'request') {
    const method = textField(f, 'method', 32, 'GET')
    if (!TOKEN.test(method)) throw new JobSpecError(`steps[${index}]: field "method" must be an HTTP token`)
    const body = f.body
    if (body !== undefined && body !== null && (!(body instanceof Uint8Array) || body.byteLength > JOB_LIMITS.maxBodyBytes)) {
      throw new JobSpecError(`steps[${index}]: field "body" must be bytes, at most ${JOB_LIMITS.maxBodyBytes}`)
    }
    return body instanceof Uint8Array ? { kind, ...base, method, body } : { kind, ...base, method }
  }
  const nextField = dotted(f, 'nextField')
  const nextFrom = oneOf(f, 'nextFrom', ['link', 'field'], nextField === undefined ? 'link' : 'field')
  if (nextFrom === 'field' && nextField === undefined) throw new JobSpecError(`steps[${index}]: nextFrom "field" needs field "nextField"`)
  const itemsField = dotted(f, 'itemsField')
  return {
    kind,
    ...base,
    nextFrom,
    ...(nextField === undefined ? {} : { nextField }),
    maxPages: intField(f, 'maxPages', 1, JOB_LIMITS.maxPages, JOB_LIMITS.defaultMaxPages),
    ...(itemsField === undefined ? {} : { itemsField }),
    pageDelayMs: intField(f, 'pageDelayMs', 0, JOB_LIMITS.maxTimeoutMs, 0)
  }
}

function readConnection (value: unknown): JobConnection {
  const f = asFields(value, 'field "connection"')
  const baseUrl = textField(f, 'baseUrl', JOB_LIMITS.maxUrlLength)
  let url: URL
  try {
    url = new URL(baseUrl)
  } catch {
    throw new JobSpecError('field "connection.baseUrl" must be an absolute http(s) URL')
  }
  const hasExtras = url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '' || /[?#@]/.test(baseUrl)
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || !/^https?:\/\/[^/]/i.test(baseUrl) || hasExtras) {
    throw new JobSpecError('field "connection.baseUrl" must be an http(s) URL with a host and without user, query or fragment')
  }
  const credential = optionalText(f, 'credential', 64)
  return credential === undefined ? { baseUrl } : { baseUrl, credential }
}

function specBytes (spec: JobSpec): number {
  let n = spec.name.length + (spec.bridge?.length ?? 0) + spec.connection.baseUrl.length
  for (const step of spec.steps) {
    n += step.name.length + step.path.length + step.headers.reduce((sum, s) => sum + s.length, 0) + 64
    if (step.kind === 'request') n += step.body?.byteLength ?? 0
  }
  return n
}

/** Builds a job from a decoded map (wire form: flat header list, body as bytes). @throws JobSpecError */
export function readJobSpec (value: unknown): JobSpec {
  const f = asFields(value, 'the job')
  const name = textField(f, 'name', JOB_LIMITS.maxNameLength)
  const frequency = oneOf(f, 'frequency', JOB_FREQUENCIES)
  const bridge = optionalText(f, 'bridge', JOB_LIMITS.maxNameLength)
  const connection = readConnection(f.connection)
  const steps = f.steps
  if (!Array.isArray(steps) || steps.length === 0 || steps.length > JOB_LIMITS.maxSteps) {
    throw new JobSpecError(`field "steps" must be a list of 1 to ${JOB_LIMITS.maxSteps} steps`)
  }
  const spec: JobSpec = { name, frequency, ...(bridge === undefined ? {} : { bridge }), connection, steps: steps.map(readStep) }
  if (specBytes(spec) > JOB_LIMITS.maxSpecBytes) throw new JobSpecError(`the job is larger than ${JOB_LIMITS.maxSpecBytes} bytes`)
  return spec
}

/** The URL of `path` under `baseUrl`: `http://h/api` + `/items?x=1` = `http://h/api/items?x=1`. */
export function stepUrl (baseUrl: string, path: string): string {
  return baseUrl.replace(/\/+$/, '') + path
}

/** The value at a dotted field path (`meta.next`) of parsed JSON; undefined when absent. */
export function fieldAt (value: unknown, dotted: string): unknown {
  let at = value
  for (const name of dotted.split('.')) {
    if (typeof at !== 'object' || at === null || Array.isArray(at) || !Object.hasOwn(at, name)) return undefined
    at = (at as Record<string, unknown>)[name]
  }
  return at
}
