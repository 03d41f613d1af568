/**
 * A small HTTP server that plays "the private system behind the firewall" for the demo
 * (`npm start`) and the tests. Every answer is predictable, so a test can check what came
 * back through the tunnel without keeping a copy of it.
 */
import { createCipheriv, createHash } from 'node:crypto'
import { createServer } from 'node:http'
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Readable, pipeline } from 'node:stream'

/** A running sample target. */
export interface SampleTarget {
  /** `http://HOST:PORT` (IPv6 hosts in brackets). */
  readonly url: string
  readonly port: number
  /** Stops listening and closes every connection, idle or busy. */
  close (): Promise<void>
  /** Requests seen per `"METHOD /path"` (no query); `"closed GET /hang"` counts hung requests the client gave up on. */
  readonly counters: Map<string, number>
}

export interface SampleTargetOptions {
  /** @default '127.0.0.1' */
  host?: string
  /** @default 0 (a free port) */
  port?: number
}

type Handler = (req: IncomingMessage, res: ServerResponse, url: URL, counters: Map<string, number>) => void | Promise<void>
interface Route { readonly methods?: readonly string[], readonly handle: Handler }

/** Chunk size of `/bytes` when the query names none, in bytes. */
const DEFAULT_CHUNK = 64 * 1024
/** Idle keep-alive connections live this long, in ms (longer than undici's 4 s default). */
const KEEP_ALIVE_TIMEOUT = 10_000
const HELLO = 'hello from the private network\n'
const PAGE_SIZE = 3
const RESET_DECLARED = 1024 * 1024
const RESET_SENT = 16 * 1024
const GET = ['GET', 'HEAD']

/**
 * Yields `n` pseudo-random bytes derived from `seed` (the AES-128-CTR keystream of a key
 * hashed from the seed), in chunks of `chunkSize`. The bytes do not depend on the chunk size.
 * @param seed any number or text; `1` and `'1'` give the same bytes. @default 0
 * @param chunkSize in bytes. @default 65_536
 */
export function * deterministicChunks (n: number, seed: string | number = 0, chunkSize = DEFAULT_CHUNK): Generator<Buffer> {
  if (!Number.isSafeInteger(chunkSize) || chunkSize < 1) throw new RangeError('chunkSize must be a positive integer')
  const key = createHash('sha256').update(`outbridge-sample-target:${seed}`).digest().subarray(0, 16)
  const cipher = createCipheriv('aes-128-ctr', key, Buffer.alloc(16))
  const zeros = Buffer.alloc(Math.min(chunkSize, n))
  for (let left = n; left > 0; left -= chunkSize) yield cipher.update(zeros.subarray(0, Math.min(chunkSize, left)))
}

/** The `n` bytes of {@link deterministicChunks} in one buffer; for small `n`. */
export function deterministicBytes (n: number, seed: string | number = 0): Buffer {
  return Buffer.concat([...deterministicChunks(n, seed)])
}

/** Hex SHA-256 of the `n` bytes of {@link deterministicChunks}, computed without holding them. */
export function expectedSha256 (n: number, seed: string | number = 0): string {
  const hash = createHash('sha256')
  for (const chunk of deterministicChunks(n, seed)) hash.update(chunk)
  return hash.digest('hex')
}

/** Starts the sample target on `host:port`. */
export async function startSampleTarget (options: SampleTargetOptions = {}): Promise<SampleTarget> {
  const host = options.host ?? '127.0.0.1'
  const counters = new Map<string, number>()
  const server = createServer({ requestTimeout: 0 }, (req, res) => { dispatch(req, res, counters) })
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, host, resolve)
  })
  const { port } = server.address() as AddressInfo
  function close (): Promise<void> {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()))
    server.closeAllConnections()
    return closed
  }
  return { url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`, port, close, counters }
}

function dispatch (req: IncomingMessage, res: ServerResponse, counters: Map<string, number>): void {
  const url = new URL(req.url ?? '/', 'http://sample.invalid')
  count(counters, `${req.method ?? 'GET'} ${url.pathname}`)
  const route = url.pathname.startsWith('/status/') ? ROUTES.get('/status/') : ROUTES.get(url.pathname)
  if (route === undefined) return sendText(res, 404, 'not found\n')
  if (route.methods !== undefined && !route.methods.includes(req.method ?? '')) {
    return sendText(res, 405, 'method not allowed\n', { allow: route.methods.join(', ') })
  }
  Promise.resolve()
    .then(() => route.handle(req, res, url, counters))
    .catch(() => res.destroy())
}

function count (counters: Map<string, number>, key: string): void {
  counters.set(key, (counters.get(key) ?? 0) + 1)
}

function sendText (res: ServerResponse, status: number, body: string, headers: OutgoingHttpHeaders = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body), ...headers })
  res.end(body)
}

function sendJson (res: ServerResponse, status: number, value: unknown, headers: OutgoingHttpHeaders = {}): void {
  const body = JSON.stringify(value)
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers })
  res.end(body)
}

/** A non-negative integer query parameter (at least `min`), `fallback` when absent, undefined when malformed. */
function intParam (url: URL, name: string, fallback: number, min = 0): number | undefined {
  const raw = url.searchParams.get(name)
  if (raw === null) return fallback
  const value = Number(raw)
  return /^\d+$/.test(raw) && Number.isSafeInteger(value) && value >= min ? value : undefined
}

function ignoreError (): void {
  // The client went away mid-stream; there is nobody left to tell.
}

function hello (_req: IncomingMessage, res: ServerResponse): void {
  sendText(res, 200, HELLO, { 'x-sample': '1' })
}

function json (_req: IncomingMessage, res: ServerResponse): void {
  sendJson(res, 200, { ok: true, items: [{ id: 1, name: 'alpha' }, { id: 2, name: 'beta' }, { id: 3, name: 'gamma' }] })
}

/** Streams the request body back as it arrives; the head goes out first, before the body ends. */
function echo (req: IncomingMessage, res: ServerResponse): void {
  const names = [...new Set(req.rawHeaders.filter((_, i) => i % 2 === 0).map((name) => name.toLowerCase()))]
  const headers: OutgoingHttpHeaders = {
    'x-request-method': req.method ?? '',
    'x-request-path': req.url ?? '',
    'x-request-host': req.headers.host ?? '',
    'x-request-header-names': names.join(',')
  }
  if (req.headers['content-type'] !== undefined) headers['content-type'] = req.headers['content-type']
  if (req.headers['content-length'] !== undefined) headers['content-length'] = req.headers['content-length']
  res.writeHead(200, headers)
  res.flushHeaders()
  pipeline(req, res, ignoreError)
}

function bytes (_req: IncomingMessage, res: ServerResponse, url: URL): void {
  const n = intParam(url, 'n', 0)
  const chunk = intParam(url, 'chunk', DEFAULT_CHUNK, 1)
  if (n === undefined || chunk === undefined) return sendText(res, 400, 'bad n or chunk\n')
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': n })
  const source = Readable.from(deterministicChunks(n, url.searchParams.get('seed') ?? 0, chunk), { objectMode: false })
  pipeline(source, res, ignoreError)
}

async function sha256 (req: IncomingMessage, res: ServerResponse): Promise<void> {
  const hash = createHash('sha256')
  let total = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    total += chunk.length
    hash.update(chunk)
  }
  sendJson(res, 200, { bytes: total, sha256: hash.digest('hex') })
}

function status (_req: IncomingMessage, res: ServerResponse, url: URL): void {
  const raw = url.pathname.slice('/status/'.length)
  const code = Number(raw)
  if (!/^\d{3}$/.test(raw) || code < 200 || code > 599) return sendText(res, 400, 'bad status\n')
  res.writeHead(code, code === 204 || code === 304 ? {} : { 'content-length': 0 }).end()
}

function slow (_req: IncomingMessage, res: ServerResponse, url: URL): void {
  const ms = intParam(url, 'ms', 1000)
  if (ms === undefined) return sendText(res, 400, 'bad ms\n')
  const timer = setTimeout(sendText, ms, res, 200, `waited ${ms} ms\n`)
  res.once('close', () => clearTimeout(timer))
}

/** Never answers; counts the moment the client gives up. */
function hang (_req: IncomingMessage, res: ServerResponse, _url: URL, counters: Map<string, number>): void {
  res.once('close', () => count(counters, 'closed GET /hang'))
}

/** `n` bytes of `abc…z`, one every `ms`, under a `content-length` of `n`. */
function trickle (_req: IncomingMessage, res: ServerResponse, url: URL): void {
  const n = intParam(url, 'n', 10)
  const ms = intParam(url, 'ms', 100, 1)
  if (n === undefined || ms === undefined) return sendText(res, 400, 'bad n or ms\n')
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': n })
  res.flushHeaders()
  let sent = 0
  const timer = setInterval(function trickleOne () {
    if (sent === n) return res.end()
    res.write(String.fromCharCode(97 + (sent++ % 26)))
  }, ms)
  res.once('close', () => clearInterval(timer))
}

/** Promises more than it sends, then drops the connection: the client must see a truncated body. */
function resetMidBody (_req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': RESET_DECLARED })
  res.write(deterministicBytes(RESET_SENT), () => res.socket?.destroy())
}

function headers (req: IncomingMessage, res: ServerResponse): void {
  sendJson(res, 200, req.headers)
}

function redirect (_req: IncomingMessage, res: ServerResponse, url: URL): void {
  const to = url.searchParams.get('to')
  if (to === null) return sendText(res, 400, 'missing to\n')
  res.writeHead(302, { location: to, 'content-length': 0 }).end()
}

/** Page `page` of `pages`, each of {@link PAGE_SIZE} items, linked by `next` and `Link: rel="next"`. */
function pages (_req: IncomingMessage, res: ServerResponse, url: URL): void {
  const page = intParam(url, 'page', 1, 1)
  const total = intParam(url, 'pages', 3)
  if (page === undefined || total === undefined) return sendText(res, 400, 'bad page or pages\n')
  const items = page > total ? [] : Array.from({ length: PAGE_SIZE }, (_, i) => ({ id: (page - 1) * PAGE_SIZE + i + 1 }))
  const next = page < total ? `/pages?page=${page + 1}&pages=${total}` : null
  sendJson(res, 200, { page, items, next }, next === null ? {} : { link: `<${next}>; rel="next"` })
}

const ROUTES: ReadonlyMap<string, Route> = new Map<string, Route>([
  ['/hello', { methods: GET, handle: hello }],
  ['/json', { methods: GET, handle: json }],
  ['/echo', { handle: echo }],
  ['/bytes', { methods: GET, handle: bytes }],
  ['/sha256', { methods: ['POST', 'PUT'], handle: sha256 }],
  ['/status/', { methods: GET, handle: status }],
  ['/slow', { methods: GET, handle: slow }],
  ['/hang', { methods: GET, handle: hang }],
  ['/trickle', { methods: GET, handle: trickle }],
  ['/reset-mid-body', { methods: GET, handle: resetMidBody }],
  ['/headers', { methods: GET, handle: headers }],
  ['/redirect', { methods: GET, handle: redirect }],
  ['/pages', { methods: GET, handle: pages }]
])
