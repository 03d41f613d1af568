/**
 * A reader throttled to a fixed rate: it takes the next chunk only when the bytes read so far
 * are due at that rate, so whatever feeds it (a relay download, an upload at the target) sees
 * the backpressure of a slow consumer and nothing else.
 */
import { createHash } from 'node:crypto'
import { setTimeout as delay } from 'node:timers/promises'

/** What a paced read took in. */
export interface PacedRead {
  readonly bytes: number
  /** Hex SHA-256 of the bytes. */
  readonly sha256: string
  /** From the call until the end of the stream, in ms. */
  readonly ms: number
}

/** Reads `source` to its end at no more than `bytesPerSec` (measured from the call), digesting it. */
export async function readPaced (source: AsyncIterable<Uint8Array>, bytesPerSec: number): Promise<PacedRead> {
  if (!(bytesPerSec > 0)) throw new RangeError('bytesPerSec must be > 0')
  const startedAt = performance.now()
  const hash = createHash('sha256')
  let bytes = 0
  for await (const chunk of source) {
    bytes += chunk.byteLength
    hash.update(chunk)
    const early = startedAt + bytes * 1000 / bytesPerSec - performance.now()
    if (early > 0) await delay(early)
  }
  return { bytes, sha256: hash.digest('hex'), ms: performance.now() - startedAt }
}
