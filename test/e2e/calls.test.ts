/**
 * End to end: single requests through `/api/call`, `/api/relay?url=` and the path form
 * `/relay/BRIDGE/http/HOST:PORT/...`, with real cloud, agent and target processes. Checks what
 * passes through unchanged (status, body bytes, end-to-end headers, repeats) and what must not
 * (hop-by-hop headers, the caller's Host).
 */
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { once } from 'node:events'
import { createServer, request } from 'node:http'
import type { IncomingHttpHeaders, IncomingMessage, Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, describe, test } from 'node:test'
import { deterministicBytes } from '../support/target-server.js'
import type { SampleTarget } from '../support/target-server.js'
import { cleanup, startAgent, startCloud, startTarget } from './harness.js'
import type { Cloud } from './harness.js'

interface CallAnswer {
  status: number
  headers: Record<string, string | string[]>
  body: string
  bodyEncoding?: string
}

const HELLO = 'hello from the private network\n'
// Hop-by-hop request headers a caller may send; none of them may reach the target.
const HOP_BY_HOP_REQUEST = {
  connection: 'x-conn-named',
  'x-conn-named': 'dropped because Connection names it',
  'keep-alive': 'timeout=5',
  te: 'trailers',
  'proxy-authorization': 'Basic cHJveHk6cGFzcw=='
}

let cloud: Cloud
let target: SampleTarget
let odd: Server
let oddUrl: string

/** A target that sends a repeated header and hop-by-hop headers, which the sample target never does. */
async function startOddTarget (): Promise<Server> {
  const server = createServer(function answerOdd (_req, res) {
    res.writeHead(200, [
      ['content-type', 'text/plain'],
      ['set-cookie', 'a=1'],
      ['set-cookie', 'b=2'],
      ['x-multi', 'one'],
      ['x-multi', 'two'],
      ['connection', 'keep-alive, x-hop-named'],
      ['x-hop-named', 'dropped because Connection names it'],
      ['keep-alive', 'timeout=7, max=99'],
      ['content-length', '2']
    ])
    res.end('ok')
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return server
}

before(async () => {
  [cloud, target, odd] = await Promise.all([startCloud(), startTarget(), startOddTarget()])
  oddUrl = `http://127.0.0.1:${(odd.address() as AddressInfo).port}`
  await startAgent(cloud)
})

after(async () => {
  odd.closeAllConnections()
  await Promise.all([new Promise((resolve) => odd.close(resolve)), cleanup()])
})

async function call (input: Record<string, unknown>): Promise<CallAnswer> {
  const res = await cloud.api('/api/call', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(input) })
  const text = await res.text()
  assert.equal(res.status, 200, text)
  return JSON.parse(text) as CallAnswer
}

function relayUrl (url: string): string {
  return `${cloud.url}/api/relay?url=${encodeURIComponent(url)}`
}

function pathUrl (path: string, bridge = 'acc-1'): string {
  return `${cloud.url}/relay/${bridge}/http/127.0.0.1:${target.port}${path}`
}

/** A raw node:http request, so hop-by-hop headers (which fetch refuses to send) can be set. */
async function rawRequest (url: string, headers: Record<string, string>): Promise<{ status: number, headers: IncomingHttpHeaders, body: string }> {
  const req = request(url, { headers })
  req.end()
  const [res] = await once(req, 'response') as [IncomingMessage]
  let body = ''
  for await (const chunk of res) body += String(chunk)
  return { status: res.statusCode ?? 0, headers: res.headers, body }
}

/** Compares bytes by length and digest, so a mismatch does not print megabytes. */
function assertSameBytes (actual: Buffer, expected: Buffer): void {
  assert.equal(actual.length, expected.length, 'length')
  assert.equal(createHash('sha256').update(actual).digest('hex'), createHash('sha256').update(expected).digest('hex'), 'sha256')
}

function assertNoHopByHop (seen: Record<string, unknown>): void {
  for (const name of ['x-conn-named', 'keep-alive', 'te', 'proxy-authorization']) {
    assert.equal(seen[name], undefined, `${name} reached the target`)
  }
  // The agent's own HTTP client may declare keep-alive; the caller's value must not pass.
  assert.ok(seen.connection === undefined || seen.connection === 'keep-alive', `connection: ${String(seen.connection)}`)
}

describe('/api/call', () => {
  test('GET passes status, target headers and a text body', async () => {
    const answer = await call({ url: `${target.url}/hello` })
    assert.equal(answer.status, 200)
    assert.equal(answer.headers['x-sample'], '1')
    assert.equal(answer.body, HELLO)
    assert.equal(answer.bodyEncoding, undefined)
  })

  test('POST sends a text body and gets it back', async () => {
    const answer = await call({ method: 'POST', url: `${target.url}/echo`, headers: { 'content-type': 'text/plain' }, body: 'héllo, wörld' })
    assert.equal(answer.status, 200)
    assert.equal(answer.headers['x-request-method'], 'POST')
    assert.equal(answer.headers['content-type'], 'text/plain')
    assert.equal(answer.body, 'héllo, wörld')
  })

  test('a base64 request body arrives as bytes and binary comes back base64', async () => {
    const bytes = Buffer.from([0xff, 0xfe, 0x00, 0x80, 0xc3, 0x28, 0x01])
    const answer = await call({ method: 'POST', url: `${target.url}/echo`, body: bytes.toString('base64'), bodyEncoding: 'base64' })
    assert.equal(answer.bodyEncoding, 'base64')
    assert.deepEqual(Buffer.from(answer.body, 'base64'), bytes)
  })

  test('a binary answer from /bytes comes back base64, byte-exact', async () => {
    const answer = await call({ url: `${target.url}/bytes?n=4096&seed=call` })
    assert.equal(answer.status, 200)
    assert.equal(answer.bodyEncoding, 'base64')
    assertSameBytes(Buffer.from(answer.body, 'base64'), deterministicBytes(4096, 'call'))
  })

  test('the target status passes through (418, 204)', async () => {
    const teapot = await call({ url: `${target.url}/status/418` })
    assert.equal(teapot.status, 418)
    const empty = await call({ url: `${target.url}/status/204` })
    assert.equal(empty.status, 204)
    assert.equal(empty.body, '')
  })

  test('request headers reach the target, with its own Host and without hop-by-hop ones', async () => {
    const answer = await call({ url: `${target.url}/headers`, headers: { 'x-custom': 'abc', host: 'evil.example', ...HOP_BY_HOP_REQUEST } })
    const seen = JSON.parse(answer.body) as Record<string, unknown>
    assert.equal(seen['x-custom'], 'abc')
    assert.equal(seen.host, `127.0.0.1:${target.port}`)
    assertNoHopByHop(seen)
  })

  test('repeated response headers come back as arrays; hop-by-hop ones are dropped', async () => {
    const answer = await call({ url: `${oddUrl}/` })
    assert.equal(answer.body, 'ok')
    assert.deepEqual(answer.headers['set-cookie'], ['a=1', 'b=2'])
    assert.deepEqual(answer.headers['x-multi'], ['one', 'two'])
    assert.equal(answer.headers['x-hop-named'], undefined)
    assert.equal(answer.headers['keep-alive'], undefined)
    assert.equal(answer.headers.connection, undefined)
  })
})

describe('/api/relay?url=', () => {
  test('GET passes status, target headers and body', async () => {
    const res = await fetch(relayUrl(`${target.url}/hello`))
    assert.equal(res.status, 200)
    assert.equal(res.headers.get('x-sample'), '1')
    assert.equal(await res.text(), HELLO)
  })

  test('POST streams the body to the target', async () => {
    const body = deterministicBytes(300_000, 'relay-post')
    const res = await fetch(relayUrl(`${target.url}/echo`), { method: 'POST', body, headers: { 'content-type': 'application/x-test' } })
    assert.equal(res.status, 200)
    assert.equal(res.headers.get('x-request-method'), 'POST')
    assert.equal(res.headers.get('content-type'), 'application/x-test')
    assertSameBytes(Buffer.from(await res.arrayBuffer()), body)
  })

  test('the target status passes through (418, 204)', async () => {
    const teapot = await fetch(relayUrl(`${target.url}/status/418`))
    assert.equal(teapot.status, 418)
    await teapot.arrayBuffer()
    const empty = await fetch(relayUrl(`${target.url}/status/204`))
    assert.equal(empty.status, 204)
    assert.equal((await empty.arrayBuffer()).byteLength, 0)
  })

  test('request headers reach the target, with its own Host and without hop-by-hop ones', async () => {
    const answer = await rawRequest(relayUrl(`${target.url}/headers`), { 'x-custom': 'relay', ...HOP_BY_HOP_REQUEST })
    assert.equal(answer.status, 200)
    const seen = JSON.parse(answer.body) as Record<string, unknown>
    assert.equal(seen['x-custom'], 'relay')
    assert.equal(seen.host, `127.0.0.1:${target.port}`)
    assertNoHopByHop(seen)
  })

  test('repeated response headers pass; hop-by-hop ones from the target are dropped', async () => {
    const answer = await rawRequest(relayUrl(`${oddUrl}/`), {})
    assert.equal(answer.body, 'ok')
    assert.deepEqual(answer.headers['set-cookie'], ['a=1', 'b=2'])
    assert.equal(answer.headers['x-multi'], 'one, two')
    assert.equal(answer.headers['x-hop-named'], undefined)
    // The cloud may send its own Keep-Alive for its own connection, never the target's.
    assert.notEqual(answer.headers['keep-alive'], 'timeout=7, max=99')
  })
})

describe('/relay/BRIDGE/http/HOST:PORT/...', () => {
  test('GET with a query reaches the path and passes headers and body', async () => {
    const res = await fetch(pathUrl('/pages?page=2&pages=3'))
    assert.equal(res.status, 200)
    assert.equal(res.headers.get('link'), '</pages?page=3&pages=3>; rel="next"')
    const page = await res.json() as { page: number, items: Array<{ id: number }> }
    assert.equal(page.page, 2)
    assert.deepEqual(page.items.map((item) => item.id), [4, 5, 6])
  })

  test('POST through bridge "_" (any bridge) reaches the target body-exact', async () => {
    const body = deterministicBytes(200_000, 'path-post')
    const res = await fetch(pathUrl('/echo', '_'), { method: 'POST', body })
    assert.equal(res.status, 200)
    assert.equal(res.headers.get('x-request-path'), '/echo')
    assertSameBytes(Buffer.from(await res.arrayBuffer()), body)
  })

  test('the target status and headers pass through', async () => {
    const teapot = await fetch(pathUrl('/status/418'))
    assert.equal(teapot.status, 418)
    await teapot.arrayBuffer()
    const hello = await fetch(pathUrl('/hello'))
    assert.equal(hello.headers.get('x-sample'), '1')
    assert.equal(await hello.text(), HELLO)
  })

  test('request headers reach the target with its own Host', async () => {
    const answer = await rawRequest(pathUrl('/headers'), { 'x-custom': 'path', ...HOP_BY_HOP_REQUEST })
    const seen = JSON.parse(answer.body) as Record<string, unknown>
    assert.equal(seen['x-custom'], 'path')
    assert.equal(seen.host, `127.0.0.1:${target.port}`)
    assertNoHopByHop(seen)
  })
})
