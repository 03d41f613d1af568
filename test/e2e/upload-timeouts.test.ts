/**
 * End to end: how the call timeout applies to a relay upload. It bounds the wait for the answer
 * once the body is sent, and a body that stops moving, never the length of a body that keeps
 * moving: a caller that sends slowly, for longer than the timeout, to a target that reads as
 * fast as it can, gets its answer; a caller that stops sending mid-body frees the call after the
 * timeout (before the agent timed the body itself, such a call was held for good: undici's
 * headersTimeout does not run while a body is being sent).
 */
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { request } from 'node:http'
import type { IncomingMessage } from 'node:http'
import { after, before, test } from 'node:test'
import type { SampleTarget } from '../support/target-server.js'
import { cleanup, startAgent, startCloud, startTarget } from './harness.js'
import type { Cloud } from './harness.js'

const TIMEOUT_MS = 1_000

let cloud: Cloud
let target: SampleTarget

before(async () => {
  [cloud, target] = await Promise.all([startCloud(), startTarget()])
  await startAgent(cloud)
})
after(cleanup)

interface Answer { readonly status: number, readonly code: string | undefined, readonly body: string, readonly ms: number }

/** POSTs `chunks` of 1 KiB to the target's /sha256 through the relay, one every `everyMs`; `stallAfter` chunks then nothing. */
function slowUpload (chunks: number, everyMs: number, stallAfter = chunks): Promise<Answer> {
  const started = performance.now()
  const url = `${cloud.url}/relay/_/http/127.0.0.1:${target.port}/sha256`
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { 'x-outbridge-timeout-ms': String(TIMEOUT_MS), 'content-type': 'application/octet-stream' } })
    req.on('error', reject)
    req.on('response', (res: IncomingMessage) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (text: string) => { body += text })
      res.on('end', () => {
        clearInterval(timer)
        const code = res.headers['x-outbridge-error']
        resolve({ status: res.statusCode ?? 0, code: typeof code === 'string' ? code : undefined, body, ms: performance.now() - started })
        req.destroy()
      })
    })
    let sent = 0
    const timer = setInterval(() => {
      if (sent === stallAfter) return // the caller goes quiet and keeps the connection open
      req.write(Buffer.alloc(1024, sent))
      if (++sent === chunks) {
        clearInterval(timer)
        req.end()
      }
    }, everyMs)
  })
}

function sha256Of (chunks: number): string {
  const hash = createHash('sha256')
  for (let i = 0; i < chunks; i++) hash.update(Buffer.alloc(1024, i))
  return hash.digest('hex')
}

test(`an upload that keeps moving for ${3 * TIMEOUT_MS} ms, past a ${TIMEOUT_MS} ms call timeout, gets its answer`, { timeout: 20_000 }, async () => {
  const answer = await slowUpload(12, TIMEOUT_MS / 4)
  assert.equal(answer.status, 200, `${answer.code ?? ''} ${answer.body}`)
  assert.deepEqual(JSON.parse(answer.body), { bytes: 12 * 1024, sha256: sha256Of(12) })
  assert.ok(answer.ms >= 2.5 * TIMEOUT_MS, `answered after ${Math.round(answer.ms)} ms`)
})

test(`an upload that stops moving is 504 TARGET_TIMEOUT about ${TIMEOUT_MS} ms after its last byte`, { timeout: 20_000 }, async () => {
  const answer = await slowUpload(12, 100, 3)
  assert.equal(answer.status, 504, answer.body)
  assert.equal(answer.code, 'TARGET_TIMEOUT')
  // The last byte went out at about 300 ms.
  assert.ok(answer.ms >= 300 + TIMEOUT_MS - 100 && answer.ms < 300 + TIMEOUT_MS + 3_000, `answered after ${Math.round(answer.ms)} ms`)
})
