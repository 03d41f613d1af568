/**
 * End to end: a relay upload that waits for credit. While the target holds the body unread, the
 * cloud probes the caller with interim `102 Processing` answers (mock-cloud/paused-upload.ts) so
 * it would notice a hang-up; a caller that stays gets them, then the final answer intact, with
 * node:http and fetch alike. An upload that flows gets none, and an HTTP/1.0 caller none at all.
 * The hang-up itself is the last case of test/chaos/head-of-line.test.ts.
 */
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { once } from 'node:events'
import { createServer, request } from 'node:http'
import type { IncomingMessage, Server } from 'node:http'
import { connect } from 'node:net'
import type { AddressInfo } from 'node:net'
import { after, before, test } from 'node:test'
import { deterministicBytes } from '../support/target-server.js'
import { cleanup, startAgent, startCloud } from './harness.js'
import type { Cloud } from './harness.js'

const MiB = 1024 * 1024
/** Far more than the stream window (4 MiB) and the socket buffers on the way. */
const BODY = deterministicBytes(32 * MiB, 'paused-upload')
const BODY_SHA256 = createHash('sha256').update(BODY).digest('hex')
/** How long the target leaves each `/hold` body unread: over two probe periods (1 s). */
const HOLD_MS = 2_500

let cloud: Cloud
let target: Server
let targetUrl: string

before(async () => {
  // `/hold` reads nothing for HOLD_MS, then the whole body; `/read` reads at once. Both answer its digest.
  target = createServer({ requestTimeout: 0 }, (req, res) => {
    const hold = req.url?.startsWith('/hold') === true ? HOLD_MS : 0
    req.pause()
    setTimeout(() => {
      const hash = createHash('sha256')
      let bytes = 0
      req.on('data', (chunk: Buffer) => {
        bytes += chunk.byteLength
        hash.update(chunk)
      })
      req.on('end', () => res.end(JSON.stringify({ bytes, sha256: hash.digest('hex') })))
      req.resume()
    }, hold)
  })
  target.listen(0, '127.0.0.1')
  await once(target, 'listening')
  targetUrl = `http://127.0.0.1:${(target.address() as AddressInfo).port}`
  cloud = await startCloud()
  await startAgent(cloud)
})

after(async () => {
  target?.closeAllConnections()
  target?.close()
  await cleanup()
})

function relayUrl (path: string): string {
  return `${cloud.url}/api/relay?url=${encodeURIComponent(targetUrl + path)}`
}

/** POSTs {@link BODY} with node:http; the final answer and the interim statuses seen before it. */
async function postWithHttp (path: string): Promise<{ status: number, body: string, interim: number[] }> {
  const interim: number[] = []
  const req = request(relayUrl(path), { method: 'POST', headers: { 'content-length': BODY.byteLength } })
  req.on('information', (info: { statusCode: number }) => interim.push(info.statusCode))
  req.end(BODY)
  const [res] = await once(req, 'response') as [IncomingMessage]
  let body = ''
  for await (const chunk of res) body += String(chunk)
  return { status: res.statusCode ?? 0, body, interim }
}

test('a caller whose upload waits for credit gets 102 Processing now and then, then the final answer intact (node:http)', { timeout: 30_000 }, async () => {
  const { status, body, interim } = await postWithHttp('/hold')
  assert.equal(status, 200)
  assert.deepEqual(JSON.parse(body), { bytes: BODY.byteLength, sha256: BODY_SHA256 })
  assert.ok(interim.length >= 1 && interim.length <= Math.ceil(HOLD_MS / 1_000) + 2, `interim answers: ${interim.join(', ')}`)
  assert.ok(interim.every((s) => s === 102), `interim answers: ${interim.join(', ')}`)
})

test('fetch skips the 102 answers and gets the final answer intact', { timeout: 30_000 }, async () => {
  const res = await fetch(relayUrl('/hold'), { method: 'POST', body: BODY })
  assert.equal(res.status, 200)
  assert.deepEqual(await res.json(), { bytes: BODY.byteLength, sha256: BODY_SHA256 })
})

test('an upload that flows gets no interim answer', { timeout: 30_000 }, async () => {
  const { status, body, interim } = await postWithHttp('/read')
  assert.equal(status, 200)
  assert.deepEqual(JSON.parse(body), { bytes: BODY.byteLength, sha256: BODY_SHA256 })
  assert.deepEqual(interim, [])
})

test('an HTTP/1.0 caller gets no 1xx while its upload waits', { timeout: 30_000 }, async () => {
  const url = new URL(relayUrl('/hold'))
  const socket = connect(Number(url.port), '127.0.0.1')
  await once(socket, 'connect')
  socket.write(`POST ${url.pathname}${url.search} HTTP/1.0\r\nHost: ${url.host}\r\nContent-Length: ${BODY.byteLength}\r\n\r\n`)
  socket.write(BODY) // no half-close: the server closes after its HTTP/1.0 answer
  const chunks: Buffer[] = []
  for await (const chunk of socket) chunks.push(chunk as Buffer)
  const answer = Buffer.concat(chunks).toString('latin1')
  assert.match(answer, /^HTTP\/1\.1 200 /, answer.slice(0, 200))
  assert.doesNotMatch(answer, /HTTP\/1\.[01] 1\d\d/)
  assert.deepEqual(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)), { bytes: BODY.byteLength, sha256: BODY_SHA256 })
})
