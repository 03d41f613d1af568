/**
 * End to end: large bodies through the streaming relay, byte-exact by SHA-256, with real cloud,
 * agent and target processes: a 100 MiB download, a 100 MiB chunked upload streamed from a
 * generator (never held in memory), and a full-duplex echo whose answer starts flowing before
 * the request body ends.
 */
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { once } from 'node:events'
import { request } from 'node:http'
import type { ClientRequest, IncomingMessage } from 'node:http'
import { after, before, test } from 'node:test'
import { deterministicChunks, digestBody, expectedSha256 } from '../support/target-server.js'
import type { SampleTarget } from '../support/target-server.js'
import { cleanup, startAgent, startCloud, startTarget, waitFor } from './harness.js'
import type { Cloud } from './harness.js'

const MiB = 1024 * 1024

let cloud: Cloud
let target: SampleTarget

before(async () => {
  [cloud, target] = await Promise.all([startCloud(), startTarget()])
  await startAgent(cloud)
})

after(cleanup)

function relayUrl (path: string): string {
  return `${cloud.url}/api/relay?url=${encodeURIComponent(target.url + path)}`
}

function pathUrl (path: string): string {
  return `${cloud.url}/relay/acc-1/http/127.0.0.1:${target.port}${path}`
}

/** Writes every chunk of `source` to `req`, waiting for 'drain' whenever the socket is full. */
async function writeAll (req: ClientRequest, source: Iterable<Buffer>): Promise<void> {
  for (const chunk of source) {
    if (!req.write(chunk)) await once(req, 'drain')
  }
}

test('a 100 MiB download through /api/relay is byte-exact', { timeout: 60_000 }, async () => {
  const n = 100 * MiB
  const res = await fetch(relayUrl(`/bytes?n=${n}&seed=download`))
  assert.equal(res.status, 200)
  assert.equal(res.headers.get('content-length'), String(n))
  assert.ok(res.body !== null)
  assert.deepEqual(await digestBody(res.body), { bytes: n, sha256: expectedSha256(n, 'download') })
})

test('a 100 MiB chunked upload through the path form is byte-exact', { timeout: 60_000 }, async () => {
  const n = 100 * MiB
  const req = request(pathUrl('/sha256'), { method: 'POST', headers: { 'content-type': 'application/octet-stream' } })
  const response = once(req, 'response') as Promise<[IncomingMessage]>
  await writeAll(req, deterministicChunks(n, 'upload'))
  req.end()
  const [res] = await response
  assert.equal(res.statusCode, 200)
  let text = ''
  for await (const chunk of res) text += String(chunk)
  assert.deepEqual(JSON.parse(text), { bytes: n, sha256: expectedSha256(n, 'upload') })
})

test('a 20 MiB echo streams both ways at once: the answer starts before the request ends', { timeout: 60_000 }, async () => {
  const n = 20 * MiB
  const firstPart = MiB
  const req = request(relayUrl('/echo'), { method: 'POST', headers: { 'content-type': 'application/octet-stream' } })
  const hash = createHash('sha256')
  let received = 0
  const ended = new Promise<void>((resolve, reject) => {
    req.once('error', reject)
    req.once('response', function onEchoResponse (res: IncomingMessage) {
      if (res.statusCode !== 200) reject(new Error(`echo answered ${res.statusCode}`))
      res.on('data', (chunk: Buffer) => {
        received += chunk.length
        hash.update(chunk)
      })
      res.once('error', reject)
      res.once('end', resolve)
    })
  })
  const chunks = deterministicChunks(n, 'duplex')
  const head: Buffer[] = []
  // Manual next(): a for-of with break would close the generator.
  for (let bytes = 0; bytes < firstPart;) {
    const next = chunks.next()
    assert.equal(next.done, false)
    head.push(next.value as Buffer)
    bytes += (next.value as Buffer).length
  }
  await writeAll(req, head)
  // The request is still open; the echo of what was sent so far must already be flowing back.
  await waitFor(() => received > 0, { message: 'echo bytes before the request body ended' })
  await writeAll(req, chunks)
  const receivedBeforeEnd = received
  req.end()
  await ended
  assert.ok(receivedBeforeEnd > 0 && receivedBeforeEnd < n, `${receivedBeforeEnd} bytes came back before the request ended`)
  assert.equal(received, n)
  assert.equal(hash.digest('hex'), expectedSha256(n, 'duplex'))
})
