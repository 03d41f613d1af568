/** Reads a whole (small) request body, refusing one over `limit` bytes with BODY_TOO_LARGE. */
import type { IncomingMessage } from 'node:http'
import { OutbridgeError } from '../protocol/errors.js'

export function readBody (req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0)
    if (declared > limit) {
      reject(new OutbridgeError('BODY_TOO_LARGE', `the request body exceeds ${limit} bytes`))
      req.resume()
      return
    }
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => {
      size += chunk.byteLength
      if (size > limit) {
        reject(new OutbridgeError('BODY_TOO_LARGE', `the request body exceeds ${limit} bytes`))
        req.removeAllListeners('data')
        req.resume()
        return
      }
      chunks.push(chunk)
    })
    req.on('end', () => resolve(Buffer.concat(chunks, size)))
    req.on('error', (err) => reject(new OutbridgeError('BAD_REQUEST', 'the request body could not be read', { cause: err })))
  })
}
