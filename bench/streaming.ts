/**
 * Bulk transfer through one path with node's own HTTP client: a download read as fast as
 * possible (or at a capped rate, to exercise backpressure) and an upload written as fast as
 * the connection takes it. Every transfer is checked: length, and for uploads the SHA-256.
 */
import { createHash } from 'node:crypto'
import { request } from 'node:http'
import type { IncomingMessage } from 'node:http'

/** Bytes per MiB. */
export const MIB = 1024 * 1024

/** The upload is this buffer repeated, so the expected SHA-256 is computed once. */
const UPLOAD_CHUNK = Buffer.alloc(MIB, 'outbridge bench upload ')

/** What one transfer measured. */
export interface TransferResult {
  readonly bytes: number
  readonly seconds: number
  readonly mibPerSec: number
}

/** Options of {@link download}. */
export interface DownloadOptions {
  /** Read no faster than this, in bytes per second. @default unlimited */
  readonly rateBytesPerSec?: number
  /** Give up after this long, in ms. */
  readonly timeoutMs: number
  /** Called with the bytes received so far, after every chunk. */
  readonly onProgress?: (bytes: number) => void
}

function result (bytes: number, startNs: bigint): TransferResult {
  const seconds = Number(process.hrtime.bigint() - startNs) / 1e9
  return { bytes, seconds, mibPerSec: bytes / MIB / seconds }
}

function failure (what: string, res: IncomingMessage): Error {
  const code = res.headers['x-outbridge-error']
  return new Error(`${what}: HTTP ${res.statusCode ?? '?'}${code === undefined ? '' : ` (${String(code)})`}`)
}

/** GETs `url` (the sample target's `/bytes?n=`), expecting exactly `expectedBytes` bytes. */
export function download (url: string, expectedBytes: number, options: DownloadOptions): Promise<TransferResult> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint()
    const req = request(url, { agent: false, timeout: options.timeoutMs })
    const deadline = setTimeout(() => req.destroy(new Error(`download: not done within ${options.timeoutMs} ms`)), options.timeoutMs)
    function done (err: Error | undefined, value?: TransferResult): void {
      clearTimeout(deadline)
      if (err !== undefined) reject(err)
      else if (value !== undefined) resolve(value)
    }
    req.once('error', (err) => done(err))
    req.once('timeout', () => req.destroy(new Error(`download: idle for ${options.timeoutMs} ms`)))
    req.once('response', (res) => {
      if (res.statusCode !== 200) {
        res.resume()
        return done(failure('download', res))
      }
      let bytes = 0
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length
        options.onProgress?.(bytes)
        if (options.rateBytesPerSec !== undefined) throttle(res, bytes, start, options.rateBytesPerSec)
      })
      res.once('error', (err) => done(err))
      res.once('end', () => {
        if (bytes !== expectedBytes) done(new Error(`download: got ${bytes} of ${expectedBytes} bytes`))
        else done(undefined, result(bytes, start))
      })
    })
    req.end()
  })
}

/** Pauses `res` until `bytes` is due at `rate` bytes per second since `startNs`. */
function throttle (res: IncomingMessage, bytes: number, startNs: bigint, rate: number): void {
  const elapsedMs = Number(process.hrtime.bigint() - startNs) / 1e6
  const aheadMs = (bytes / rate) * 1000 - elapsedMs
  if (aheadMs < 1) return
  res.pause()
  setTimeout(() => res.resume(), aheadMs)
}

/** Hex SHA-256 of what {@link upload} sends for `bytes` bytes. */
export function uploadSha256 (bytes: number): string {
  const hash = createHash('sha256')
  for (let left = bytes; left > 0; left -= UPLOAD_CHUNK.length) hash.update(UPLOAD_CHUNK.subarray(0, Math.min(left, UPLOAD_CHUNK.length)))
  return hash.digest('hex')
}

/**
 * POSTs `bytes` bytes to `url` (the sample target's `/sha256`) as fast as the connection takes
 * them, and checks the byte count and SHA-256 the target answers with.
 */
export function upload (url: string, bytes: number, expectedSha256: string, timeoutMs: number): Promise<TransferResult> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint()
    const req = request(url, {
      method: 'POST',
      agent: false,
      timeout: timeoutMs,
      headers: { 'content-type': 'application/octet-stream', 'content-length': bytes }
    })
    const deadline = setTimeout(() => req.destroy(new Error(`upload: not done within ${timeoutMs} ms`)), timeoutMs)
    function done (err: Error | undefined, value?: TransferResult): void {
      clearTimeout(deadline)
      if (err !== undefined) reject(err)
      else if (value !== undefined) resolve(value)
    }
    req.once('error', (err) => done(err))
    req.once('timeout', () => req.destroy(new Error(`upload: idle for ${timeoutMs} ms`)))
    req.once('response', (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (text: string) => { body += text })
      res.once('end', () => {
        if (res.statusCode !== 200) return done(failure('upload', res))
        const answer = JSON.parse(body) as { bytes?: number, sha256?: string }
        if (answer.bytes !== bytes || answer.sha256 !== expectedSha256) {
          return done(new Error(`upload: target got ${String(answer.bytes)} bytes, sha256 ${String(answer.sha256)}; sent ${bytes}, ${expectedSha256}`))
        }
        done(undefined, result(bytes, start))
      })
    })
    writeBody(req, bytes).catch((err: unknown) => done(err instanceof Error ? err : new Error(String(err))))
  })
}

async function writeBody (req: ReturnType<typeof request>, bytes: number): Promise<void> {
  for (let left = bytes; left > 0; left -= UPLOAD_CHUNK.length) {
    const ok = req.write(UPLOAD_CHUNK.subarray(0, Math.min(left, UPLOAD_CHUNK.length)))
    if (!ok) await waitDrain(req)
    if (req.destroyed) return
  }
  req.end()
}

function waitDrain (req: ReturnType<typeof request>): Promise<void> {
  return new Promise((resolve) => {
    function settle (): void {
      req.off('drain', settle)
      req.off('close', settle)
      resolve()
    }
    req.once('drain', settle)
    req.once('close', settle)
  })
}
