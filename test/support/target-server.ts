/**
 * The sample target as the tests use it, plus a helper to digest a streamed body so a test
 * can compare gigabytes against {@link expectedSha256} without holding them.
 */
import { createHash } from 'node:crypto'

export {
  deterministicBytes,
  deterministicChunks,
  expectedSha256,
  startSampleTarget
} from '../../agent/sample-target.js'
export type { SampleTarget, SampleTargetOptions } from '../../agent/sample-target.js'

/** Size and hex SHA-256 of a body, read to its end. */
export interface BodyDigest {
  readonly bytes: number
  readonly sha256: string
}

/** Reads `body` (a fetch body, an IncomingMessage, any byte stream) to its end and digests it. */
export async function digestBody (body: AsyncIterable<Uint8Array>): Promise<BodyDigest> {
  const hash = createHash('sha256')
  let bytes = 0
  for await (const chunk of body) {
    bytes += chunk.byteLength
    hash.update(chunk)
  }
  return { bytes, sha256: hash.digest('hex') }
}
