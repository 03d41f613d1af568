/**
 * End to end: header hygiene (issue #4 point 5) with real processes. Hop-by-hop headers are
 * dropped both ways, through `/api/call` and through the relay (sent raw with node:http, since
 * fetch refuses to send most of them); Host at the target comes from the target URL; names and
 * values with CR/LF or other invalid bytes, and oversized header sets, are refused before the target.
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { createServer, request } from 'node:http'
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, describe, test } from 'node:test'
import type { SampleTarget } from '../../agent/sample-target.js'
import { cleanup, startAgent, startCloud, startTarget } from './harness.js'
import type { Agent, Cloud } from './harness.js'

/** Hop-by-hop request headers a caller may send (plus one end-to-end header that must pass). */
const HOP_REQUEST: Readonly<Record<string, string>> = {
  connection: 'x-secret-hop, X-Other-Hop',
  'x-secret-hop': '1',
  'x-other-hop': '2',
  'keep-alive': 'timeout=5, max=9',
  te: 'trailers',
  upgrade: 'websocket',
  'proxy-authorization': 'Basic cHJveHk6cGFzcw==',
  'proxy-connection': 'keep-alive',
  trailer: 'x-trailer',
  'http2-settings': 'AAMAAABkAAQAAP__',
  'x-end-to-end': 'kept'
}
const DROPPED_REQUEST = Object.keys(HOP_REQUEST).filter((name) => name !== 'connection' && name !== 'x-end-to-end')
const DROPPED_RESPONSE = ['x-resp-hop', 'keep-alive', 'proxy-authenticate', 'proxy-connection', 'upgrade', 'trailer', 'transfer-encoding']

let cloud: Cloud
let agent: Agent
let target: SampleTarget
let hopServer: Server
let hopUrl: string

/** Answers with hop-by-hop response headers, which the sample target never sends. */
function answerWithHops (_req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(200, {
    connection: 'x-resp-hop',
    'x-resp-hop': '1',
    'keep-alive': 'timeout=7',
    'proxy-authenticate': 'Basic realm="inside"',
    'proxy-connection': 'keep-alive',
    upgrade: 'h2c',
    trailer: 'x-trailer',
    'x-resp-kept': 'yes',
    'content-type': 'text/plain'
  })
  res.end('ok')
}

before(async () => {
  hopServer = createServer(answerWithHops)
  hopServer.listen(0, '127.0.0.1')
  await once(hopServer, 'listening')
  hopUrl = `http://127.0.0.1:${(hopServer.address() as AddressInfo).port}/`
  ;[cloud, target] = await Promise.all([startCloud(), startTarget()])
  agent = await startAgent(cloud)
})

after(async () => {
  hopServer.closeAllConnections()
  await Promise.all([new Promise((resolve) => hopServer.close(resolve)), cleanup()])
})

function call (input: Record<string, unknown>): Promise<Response> {
  return cloud.api('/api/call', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(input) })
}

async function callAnswer (input: Record<string, unknown>): Promise<{ headers: Record<string, string>, body: string }> {
  const res = await call(input)
  const text = await res.text()
  assert.equal(res.status, 200, text)
  return JSON.parse(text) as { headers: Record<string, string>, body: string }
}

/** A raw request to the cloud with node:http, which sends hop-by-hop headers as given. */
async function rawRequest (path: string, headers: OutgoingHttpHeaders): Promise<{ status: number, headers: IncomingHttpHeaders, body: string }> {
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    request(`${cloud.url}${path}`, { headers, agent: false }, resolve).once('error', reject).end()
  })
  let body = ''
  for await (const chunk of res as AsyncIterable<Buffer>) body += chunk.toString('utf8')
  return { status: res.statusCode ?? 0, headers: res.headers, body }
}

/** Asserts the target saw none of the hop-by-hop request headers, and the end-to-end one. */
function assertNoRequestHops (seen: Record<string, string>, what: string): void {
  for (const name of DROPPED_REQUEST) assert.equal(seen[name], undefined, `${what}: ${name} reached the target`)
  assert.doesNotMatch(seen.connection ?? '', /hop/i, `${what}: the caller's Connection reached the target`)
  assert.equal(seen['x-end-to-end'], 'kept', `${what}: an end-to-end header was dropped`)
}

function targetRequests (): number {
  let total = 0
  for (const count of target.counters.values()) total += count
  return total
}

describe('hop-by-hop headers', () => {
  test('request hop-by-hop headers never reach the target through /api/call', async () => {
    const answer = await callAnswer({ url: `${target.url}/headers`, headers: HOP_REQUEST })
    assertNoRequestHops(JSON.parse(answer.body) as Record<string, string>, '/api/call')
  })

  test('request hop-by-hop headers never reach the target through the relay', async () => {
    const paths = [`/api/relay?url=${encodeURIComponent(`${target.url}/headers`)}`, `/relay/_/http/127.0.0.1:${target.port}/headers`]
    for (const path of paths) {
      // node:http refuses to send Trailer on a request without a chunked body.
      const { trailer: _trailer, ...headers } = HOP_REQUEST
      const res = await rawRequest(path, headers)
      assert.equal(res.status, 200, res.body)
      assertNoRequestHops(JSON.parse(res.body) as Record<string, string>, path)
    }
  })

  test('response hop-by-hop headers never reach the caller through /api/call', async () => {
    const answer = await callAnswer({ url: hopUrl })
    for (const name of DROPPED_RESPONSE) assert.equal(answer.headers[name], undefined, `${name} reached the caller`)
    assert.equal(answer.headers.connection, undefined)
    assert.equal(answer.headers['x-resp-kept'], 'yes')
  })

  test('response hop-by-hop headers never reach the caller through the relay', async () => {
    // `connection: close` so that the cloud's own Connection header is predictable.
    const res = await rawRequest(`/api/relay?url=${encodeURIComponent(hopUrl)}`, { connection: 'close' })
    assert.equal(res.status, 200)
    for (const name of DROPPED_RESPONSE.filter((n) => n !== 'transfer-encoding')) assert.equal(res.headers[name], undefined, `${name} reached the caller`)
    assert.equal(res.headers.connection, 'close', 'the target\'s Connection header reached the caller')
    assert.equal(res.headers['x-resp-kept'], 'yes')
    assert.equal(res.body, 'ok')
  })
})

describe('Host', () => {
  test('the target sees its own host:port, whatever Host the caller sends', async () => {
    const expected = `127.0.0.1:${target.port}`
    const answer = await callAnswer({ url: `${target.url}/headers`, headers: { host: 'evil.example', 'x-forwarded-host': 'kept.example' } })
    const seen = JSON.parse(answer.body) as Record<string, string>
    assert.equal(seen.host, expected)
    assert.equal(seen['x-forwarded-host'], 'kept.example')
    for (const path of [`/api/relay?url=${encodeURIComponent(`${target.url}/headers`)}`, `/relay/_/http/127.0.0.1:${target.port}/headers`]) {
      const res = await rawRequest(path, { host: 'evil.example' })
      assert.equal((JSON.parse(res.body) as Record<string, string>).host, expected, path)
    }
  })
})

describe('invalid headers', () => {
  test('CR, LF, NUL and other invalid bytes in values are 400 BAD_REQUEST, before the target', async () => {
    const requests = targetRequests()
    const cases: Array<Record<string, string | string[]>> = [
      { 'x-a': 'v\r\nx-injected: 1' },
      { 'x-a': 'v\nx-injected: 1' },
      { 'x-a': 'v\rx' },
      { 'x-a': 'v\u0000x' },
      { 'x-a': 'v\u007fx' },
      { 'x-a': '\u2603' },
      { 'x-a': ['ok', 'v\r\nx-injected: 1'] },
      { 'content-length': ['1', '2'] },
      { 'content-length': '-1' }
    ]
    for (const headers of cases) await assertBadRequest(call({ method: 'POST', url: `${target.url}/echo`, headers, body: 'x' }), JSON.stringify(headers))
    assert.equal(targetRequests(), requests, 'the target saw none of them')
  })

  test('too many headers, or too many header bytes, are 400 BAD_REQUEST', async () => {
    const requests = targetRequests()
    await assertBadRequest(call({ url: `${target.url}/headers`, headers: manyHeaders(101) }), '101 headers')
    await assertBadRequest(call({ url: `${target.url}/headers`, headers: { 'x-large': 'v'.repeat(65 * 1024) } }), '65 KiB of headers')
    assert.equal(targetRequests(), requests)
    assert.equal((await call({ url: `${target.url}/headers`, headers: manyHeaders(90) })).status, 200, '90 headers pass')
  })

  // Last in the file: when it fails, the bridge is reconnecting afterwards.
  test('a malformed header set is 400 BAD_REQUEST and never disconnects the bridge or its calls in flight', async () => {
    const connectedBefore = connectedCount()
    const slow = cloud.api(`/api/relay?url=${encodeURIComponent(`${target.url}/slow?ms=1500`)}`)
    const relayUrl = `${cloud.url}/api/relay?url=${encodeURIComponent(`${target.url}/headers`)}`
    for (const name of ['x-a\r\nx-injected', 'x a', 'x-a:', '', 'x-\u00e9']) {
      await assertBadRequest(call({ url: `${target.url}/headers`, headers: { [name]: 'v' } }), JSON.stringify(name))
    }
    await assertBadRequest(call({ url: `${target.url}/headers`, headers: manyHeaders(300) }), '/api/call with 300 headers')
    await assertBadRequest(fetch(relayUrl, { headers: manyHeaders(300) }), 'relay with 300 headers')
    const res = await slow
    assert.equal(res.status, 200)
    assert.equal(await res.text(), 'waited 1500 ms\n', 'the call in flight finished')
    assert.equal(connectedCount(), connectedBefore, 'the bridge never reconnected')
  })
})

function manyHeaders (n: number): Record<string, string> {
  return Object.fromEntries(Array.from({ length: n }, (_, i) => [`x-h${i}`, 'v']))
}

function connectedCount (): number {
  return agent.proc.json().filter((line) => line.msg === 'connected').length
}

async function assertBadRequest (pending: Promise<Response>, what: string): Promise<void> {
  const res = await pending
  const text = await res.text()
  assert.equal(res.status, 400, `${what}: ${text}`)
  assert.equal(res.headers.get('x-outbridge-error'), 'BAD_REQUEST', what)
}
