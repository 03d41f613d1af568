/**
 * End to end: the bridge's limits with real processes (issue #4 points 6, 7). Concurrent streams
 * refused at once past `--max-streams`; bodies over `--max-body-bytes` on the agent and on the
 * cloud; `timeoutMs` and `x-outbridge-timeout-ms`; a response that ends early is an aborted stream,
 * never a clean short one; compressed bodies pass byte for byte.
 */
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { once } from 'node:events'
import { createServer, get } from 'node:http'
import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, describe, test } from 'node:test'
import { gzipSync } from 'node:zlib'
import { deterministicBytes, expectedSha256 } from '../../agent/sample-target.js'
import type { SampleTarget } from '../../agent/sample-target.js'
import { cleanup, startAgent, startCloud, startTarget, waitFor } from './harness.js'
import type { Cloud } from './harness.js'

const MIB = 1024 * 1024
const LIMIT = MIB
const GZIPPED = gzipSync(Buffer.from('compressed on the target, and it must stay that way\n'.repeat(50)))

let cloud: Cloud
let limitedCloud: Cloud
let target: SampleTarget
let odd: Server
let oddUrl: string

/** Routes the sample target lacks: `/gzip`, `/chunked?n=` (no content-length), `/cut` (chunked, then reset). */
function answerOdd (req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://odd.invalid')
  if (url.pathname === '/gzip') {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'gzip', 'content-length': GZIPPED.length }).end(GZIPPED)
  } else if (url.pathname === '/chunked') {
    res.writeHead(200, { 'content-type': 'application/octet-stream' })
    res.end(deterministicBytes(Number(url.searchParams.get('n'))))
  } else {
    res.writeHead(200, { 'content-type': 'application/octet-stream' })
    res.write(deterministicBytes(16 * 1024), () => res.socket?.destroy())
  }
}

before(async () => {
  odd = createServer(answerOdd)
  odd.listen(0, '127.0.0.1')
  await once(odd, 'listening')
  oddUrl = `http://127.0.0.1:${(odd.address() as AddressInfo).port}`
  ;[cloud, limitedCloud, target] = await Promise.all([
    startCloud(),
    startCloud({ args: ['--max-body-bytes', String(LIMIT)] }),
    startTarget()
  ])
  await Promise.all([
    startAgent(cloud, { name: 'lim', args: ['--max-streams', '2', '--max-body-bytes', String(LIMIT)] }),
    startAgent(limitedCloud, { name: 'open' })
  ])
})

after(async () => {
  odd.closeAllConnections()
  await Promise.all([new Promise((resolve) => odd.close(resolve)), cleanup()])
})

function call (on: Cloud, input: Record<string, unknown>): Promise<Response> {
  return on.api('/api/call', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(input) })
}

function relay (on: Cloud, url: string, init: RequestInit = {}): Promise<Response> {
  return on.api(`/api/relay?url=${encodeURIComponent(url)}`, init)
}

async function assertError (res: Response, status: number, code: string, what: string): Promise<void> {
  const text = await res.text()
  assert.equal(res.status, status, `${what}: ${text.slice(0, 300)}`)
  assert.equal(res.headers.get('x-outbridge-error'), code, what)
}

/** The head arrived, then the body must fail: a truncated stream, never a clean short end. */
async function assertTruncated (res: Response, what: string): Promise<void> {
  assert.equal(res.status, 200, what)
  await assert.rejects(res.arrayBuffer(), `${what}: the body ended cleanly`)
}

/**
 * A response that failed at the target must fail for the client too: the request rejects, an
 * error answer comes back, or the head arrives and the body rejects. Never a clean 200.
 */
async function assertNeverClean (pending: Promise<Response>, what: string): Promise<void> {
  let res: Response
  try {
    res = await pending
  } catch {
    return
  }
  if (res.status !== 200) {
    await res.arrayBuffer()
    assert.notEqual(res.headers.get('x-outbridge-error'), null, `${what}: ${res.status} without a tunnel error`)
    return
  }
  await assert.rejects(res.arrayBuffer(), `${what}: the body ended cleanly`)
}

function hits (key: string): number {
  return target.counters.get(key) ?? 0
}

describe('--max-streams', () => {
  test('past the limit a call is refused at once with TOO_MANY_STREAMS, never queued', async () => {
    const hangs = hits('GET /hang')
    const closed = hits('closed GET /hang')
    const hellos = hits('GET /hello')
    const abort = new AbortController()
    const pending = [1, 2].map(() => relay(cloud, `${target.url}/hang`, { signal: abort.signal }).catch(() => undefined))
    await waitFor(() => hits('GET /hang') === hangs + 2, { message: 'two calls in flight' })
    const started = performance.now()
    await assertError(await relay(cloud, `${target.url}/hello`), 503, 'TOO_MANY_STREAMS', 'third call, relay')
    await assertError(await call(cloud, { url: `${target.url}/hello` }), 503, 'TOO_MANY_STREAMS', 'third call, /api/call')
    assert.ok(performance.now() - started < 2_000, 'refused at once')
    assert.equal(hits('GET /hello'), hellos, 'the refused calls never reached the target')
    abort.abort()
    await Promise.all(pending)
    await waitFor(() => hits('closed GET /hang') === closed + 2, { message: 'the hung calls were cancelled' })
    const res = await waitFor(async () => {
      const answer = await relay(cloud, `${target.url}/hello`)
      return answer.status === 200 ? answer : (await answer.arrayBuffer(), undefined)
    }, { message: 'a slot is free again' })
    assert.equal(await res.text(), 'hello from the private network\n')
  })
})

describe('--max-body-bytes on the agent', () => {
  test('an upload over the limit is 413 BODY_TOO_LARGE; one at the limit passes', async () => {
    await assertError(await relay(cloud, `${target.url}/sha256`, { method: 'POST', body: deterministicBytes(2 * MIB) }), 413, 'BODY_TOO_LARGE', 'relay')
    const body = deterministicBytes(2 * MIB).toString('base64')
    await assertError(await call(cloud, { method: 'POST', url: `${target.url}/sha256`, body, bodyEncoding: 'base64' }), 413, 'BODY_TOO_LARGE', '/api/call')
    const res = await relay(cloud, `${target.url}/sha256`, { method: 'POST', body: deterministicBytes(LIMIT) })
    assert.deepEqual(await res.json(), { bytes: LIMIT, sha256: expectedSha256(LIMIT) })
  })

  test('a download over the limit is cut after the head, or 413 before it', async () => {
    await assertTruncated(await relay(cloud, `${target.url}/bytes?n=${2 * MIB}`), 'content-length download')
    await assertTruncated(await relay(cloud, `${oddUrl}/chunked?n=${2 * MIB}`), 'chunked download')
    const res = await relay(cloud, `${target.url}/bytes?n=${LIMIT}`)
    assert.equal(createHash('sha256').update(Buffer.from(await res.arrayBuffer())).digest('hex'), expectedSha256(LIMIT))
    await assertError(await call(cloud, { url: `${target.url}/bytes?n=${2 * MIB}` }), 413, 'BODY_TOO_LARGE', '/api/call')
  })
})

describe('--max-body-bytes on the cloud', () => {
  test('/api/call refuses a request body over the limit, whatever its encoding', async () => {
    const url = `${target.url}/sha256`
    const base64 = deterministicBytes(2 * MIB).toString('base64')
    await assertError(await call(limitedCloud, { method: 'POST', url, body: base64, bodyEncoding: 'base64' }), 413, 'BODY_TOO_LARGE', 'base64 2 MiB')
    const text = 'x'.repeat(LIMIT + 256 * 1024)
    await assertError(await call(limitedCloud, { method: 'POST', url, body: text }), 413, 'BODY_TOO_LARGE', 'utf8 1.25 MiB')
  })

  test('/api/call refuses a response body over the limit', async () => {
    await assertError(await call(limitedCloud, { url: `${target.url}/bytes?n=${2 * MIB}` }), 413, 'BODY_TOO_LARGE', '/api/call')
  })

  test('relay uploads over the limit are 413, declared or streamed', async () => {
    const url = `${target.url}/sha256`
    await assertError(await relay(limitedCloud, url, { method: 'POST', body: deterministicBytes(2 * MIB) }), 413, 'BODY_TOO_LARGE', 'content-length')
    async function * chunks (): AsyncGenerator<Buffer> {
      for (let i = 0; i < 32; i++) yield deterministicBytes(64 * 1024, i)
    }
    const init: RequestInit & { duplex: 'half' } = { method: 'POST', body: chunks(), duplex: 'half' }
    await assertError(await relay(limitedCloud, url, init), 413, 'BODY_TOO_LARGE', 'chunked')
  })

  test('a relay download over the limit is cut after the head', async () => {
    await assertTruncated(await relay(limitedCloud, `${target.url}/bytes?n=${2 * MIB}`), 'download')
  })
})

describe('timeouts and early ends', () => {
  test('x-outbridge-timeout-ms is 504 TARGET_TIMEOUT within about that time, and the target is let go', async () => {
    const closed = hits('closed GET /hang')
    const headers = { 'x-outbridge-timeout-ms': '500' }
    for (const path of [`/api/relay?url=${encodeURIComponent(`${target.url}/hang`)}`, `/relay/lim/http/127.0.0.1:${target.port}/hang`]) {
      const started = performance.now()
      await assertError(await cloud.api(path, { headers }), 504, 'TARGET_TIMEOUT', path)
      const elapsed = performance.now() - started
      assert.ok(elapsed >= 450 && elapsed < 3_000, `${path}: answered after ${Math.round(elapsed)} ms`)
    }
    await waitFor(() => hits('closed GET /hang') === closed + 2, { message: 'the target request was aborted' })
  })

  test('timeoutMs of /api/call is 504 TARGET_TIMEOUT within about that time', async () => {
    const started = performance.now()
    await assertError(await call(cloud, { url: `${target.url}/hang`, timeoutMs: 500 }), 504, 'TARGET_TIMEOUT', '/api/call')
    const elapsed = performance.now() - started
    assert.ok(elapsed >= 450 && elapsed < 3_000, `answered after ${Math.round(elapsed)} ms`)
  })

  test('a response that ends early is an aborted stream, with or without content-length', async () => {
    // Whether the head reached the client before the cut is a race; the outcome is never a clean end.
    await assertNeverClean(relay(cloud, `${target.url}/reset-mid-body`), 'content-length')
    await assertNeverClean(cloud.api(`/relay/lim/http/127.0.0.1:${target.port}/reset-mid-body`), 'path form')
    await assertNeverClean(relay(cloud, `${oddUrl}/cut`), 'chunked')
    const res = await call(cloud, { url: `${oddUrl}/cut` })
    await res.arrayBuffer()
    assert.notEqual(res.status, 200, '/api/call of a cut body')
    assert.equal(res.headers.get('x-outbridge-error'), 'TARGET_ABORTED')
  })
})

describe('bodies pass byte for byte', () => {
  test('a gzip body reaches the relay client compressed, with its content-encoding', async () => {
    const relayed = await rawGet(`${cloud.url}/api/relay?url=${encodeURIComponent(`${oddUrl}/gzip`)}`, { 'accept-encoding': 'gzip' })
    assert.equal(relayed.status, 200)
    assert.equal(relayed.headers['content-encoding'], 'gzip')
    assert.ok(relayed.body.equals(GZIPPED), 'identical compressed bytes')
    const res = await call(cloud, { url: `${oddUrl}/gzip`, headers: { 'accept-encoding': 'gzip' } })
    const answer = await res.json() as { headers: Record<string, string>, body: string, bodyEncoding?: string }
    assert.equal(answer.headers['content-encoding'], 'gzip')
    assert.equal(answer.bodyEncoding, 'base64')
    assert.ok(Buffer.from(answer.body, 'base64').equals(GZIPPED), 'identical compressed bytes in /api/call')
  })
})

/** A GET with node:http, which (unlike fetch) never decompresses. */
async function rawGet (url: string, headers: Record<string, string>): Promise<{ status: number, headers: IncomingHttpHeaders, body: Buffer }> {
  const res = await new Promise<IncomingMessage>((resolve, reject) => get(url, { headers }, resolve).once('error', reject))
  const chunks: Buffer[] = []
  for await (const chunk of res as AsyncIterable<Buffer>) chunks.push(chunk)
  return { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }
}
