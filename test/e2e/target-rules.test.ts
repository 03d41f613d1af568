/**
 * End to end: the bridge's target rules with real processes (issue #4 points 1, 3, 4, 6). Deny
 * by default, each rule kind, `*` leaving out loopback and metadata, alternative spellings of
 * 127.0.0.1, URL injection, non-http schemes, and redirects. A refusal happens before any
 * connection: a canary server counts TCP connections, so "refused" cannot hide "connected, then
 * dropped". No rule here lets a non-loopback address be contacted.
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { createServer } from 'node:http'
import type { Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, describe, test } from 'node:test'
import type { SampleTarget } from '../../agent/sample-target.js'
import { cleanup, startAgent, startCloud, startTarget } from './harness.js'
import type { Cloud } from './harness.js'

const HELLO = 'hello from the private network\n'
// Bounds a call that a product bug would let through toward an unreachable address.
const SHORT_TIMEOUT = 5_000

/** A loopback HTTP server that counts TCP connections; it listens on ::1 too (same port) when it can. */
interface Canary { readonly port: number, connections: number, close (): Promise<void> }

let cloud: Cloud
let target: SampleTarget
let canary: Canary

async function listen (server: Server, port: number, host: string): Promise<boolean> {
  return await new Promise((resolve) => {
    server.once('error', () => resolve(false))
    server.listen(port, host, () => resolve(true))
  })
}

async function startCanary (): Promise<Canary> {
  const servers = [createServer(answerCanary), createServer(answerCanary)]
  const state = { port: 0, connections: 0, close }
  for (const server of servers) server.on('connection', () => { state.connections++ })
  await listen(servers[0], 0, '127.0.0.1')
  state.port = (servers[0].address() as AddressInfo).port
  // So `localhost` works whichever address the resolver gives first; optional where ::1 is missing.
  const dual = await listen(servers[1], state.port, '::1')
  async function close (): Promise<void> {
    await Promise.all(servers.filter((_, i) => i === 0 || dual).map(async (server) => {
      server.closeAllConnections()
      server.close()
      await once(server, 'close')
    }))
  }
  return state
}

function answerCanary (_req: unknown, res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 6 }).end('canary')
}

before(async () => {
  [cloud, target, canary] = await Promise.all([startCloud(), startTarget(), startCanary()])
  const agents: Array<[string, string[], string[]?]> = [
    ['none', []],
    // One port only; it also follows redirects (the rules tests make none).
    ['port', [`127.0.0.1:${target.port}`], ['--follow-redirects']],
    ['star', ['*']],
    ['ip', ['127.0.0.1']],
    ['localhost', ['localhost']]
  ]
  await Promise.all(agents.map(([name, allow, args]) => startAgent(cloud, { name, allow, args })))
})

after(async () => {
  await Promise.all([cleanup(), canary.close()])
})

function call (bridge: string, url: string): Promise<Response> {
  const body = JSON.stringify({ bridge, url, timeoutMs: SHORT_TIMEOUT })
  return cloud.api('/api/call', { method: 'POST', headers: { 'content-type': 'application/json' }, body })
}

async function assertError (res: Response, status: number, code: string, what: string): Promise<void> {
  const text = await res.text()
  assert.equal(res.status, status, `${what}: ${text}`)
  assert.equal(res.headers.get('x-outbridge-error'), code, what)
  assert.equal((JSON.parse(text) as { error?: { code?: unknown } }).error?.code, code, what)
}

async function assertReached (res: Response, body: string, what: string): Promise<void> {
  const text = await res.text()
  assert.equal(res.status, 200, `${what}: ${text}`)
  assert.equal((JSON.parse(text) as { body?: unknown }).body, body, what)
}

function targetRequests (): number {
  let total = 0
  for (const count of target.counters.values()) total += count
  return total
}

/** Runs `fn` and asserts the canary saw no connection and (unless `targetToo` is false) the sample target no request. */
async function untouched (fn: () => Promise<void>, targetToo = true): Promise<void> {
  const [requests, connections] = [targetRequests(), canary.connections]
  await fn()
  if (targetToo) assert.equal(targetRequests(), requests, 'the sample target saw no request')
  assert.equal(canary.connections, connections, 'the canary saw no connection')
}

/** 127.0.0.1 in the spellings the URL parser normalises, plus the plain one. */
function loopbackSpellings (port: number): string[] {
  return ['127.0.0.1', '127.1', '0x7f.1', '2130706433', '0177.0.0.1', '127.0.0.1.', '[::ffff:127.0.0.1]']
    .map((host) => `http://${host}:${port}/hello`)
}

describe('rules', () => {
  test('with no --allow every call is 403 FORBIDDEN_TARGET, before any connection', async () => {
    await untouched(async () => {
      for (const url of [`${target.url}/hello`, `http://localhost:${canary.port}/`, `http://127.0.0.1:${canary.port}/`]) {
        await assertError(await call('none', url), 403, 'FORBIDDEN_TARGET', url)
      }
    })
  })

  test('--allow 127.0.0.1:PORT reaches that port only', async () => {
    await assertReached(await call('port', `${target.url}/hello`), HELLO, 'the allowed port')
    await untouched(async () => {
      await assertError(await call('port', `http://127.0.0.1:${canary.port}/`), 403, 'FORBIDDEN_TARGET', 'another port')
    })
  })

  test('the canary counts connections (positive control)', async () => {
    const before = canary.connections
    await assertReached(await call('ip', `http://127.0.0.1:${canary.port}/`), 'canary', 'canary via 127.0.0.1 rule')
    assert.ok(canary.connections > before)
  })

  test('* leaves out loopback in every spelling, and localhost', async () => {
    const urls = [
      ...loopbackSpellings(target.port),
      ...loopbackSpellings(canary.port),
      `http://localhost:${canary.port}/`,
      `http://LOCALHOST.:${canary.port}/`,
      `http://[::1]:${canary.port}/`,
      `http://0.0.0.0:${canary.port}/`,
      `http://0:${canary.port}/`
    ]
    await untouched(async () => {
      for (const url of urls) await assertError(await call('star', url), 403, 'FORBIDDEN_TARGET', url)
    })
  })

  test('* leaves out cloud metadata addresses in every spelling', async () => {
    const hosts = ['169.254.169.254', '0xa9fea9fe', '2852039166', '0251.0376.0251.0376', '169.254.43518',
      '[::ffff:169.254.169.254]', '[::ffff:a9fe:a9fe]', '169.254.170.2', '100.100.100.200', '[fd00:ec2::254]', '[fe80::1]']
    for (const host of hosts) {
      await assertError(await call('star', `http://${host}/latest/meta-data/`), 403, 'FORBIDDEN_TARGET', host)
    }
  })

  test('alternative spellings of 127.0.0.1 are 127.0.0.1 under a 127.0.0.1 rule', async () => {
    for (const url of loopbackSpellings(target.port)) {
      const res = await call('ip', url.replace('/hello', '/headers'))
      const text = await res.text()
      assert.equal(res.status, 200, `${url}: ${text}`)
      const seen = JSON.parse((JSON.parse(text) as { body: string }).body) as { host?: string }
      // The Host header comes from the normalised URL, whatever the caller wrote.
      if (!url.includes('[')) assert.equal(seen.host, `127.0.0.1:${target.port}`, url)
    }
  })

  test('a localhost rule reaches localhost, case and trailing dot normalised', async () => {
    for (const host of ['localhost', 'LocalHost', 'localhost.']) {
      await assertReached(await call('localhost', `http://${host}:${canary.port}/`), 'canary', host)
    }
  })
})

describe('URL injection and schemes', () => {
  test('userinfo, backslashes, CR/LF, NUL and spaces are 400 BAD_REQUEST, before any connection', async () => {
    const p = target.port
    const urls = [
      `http://user@127.0.0.1:${p}/hello`,
      `http://user:pw@127.0.0.1:${p}/hello`,
      `http://127.0.0.1:${p}@127.0.0.1:${canary.port}/`,
      `http://127.0.0.1:${p}\\@127.0.0.1:${canary.port}/`,
      `http:\\\\127.0.0.1:${p}/hello`,
      `http://127.0.0.1:${p}/a\\b`,
      `http://127.0.0.1:${p}/hello\r\nx-injected: 1`,
      `http://127.0.0.1:${p}/hello HTTP/1.1\r\nhost: other`,
      `http://127.0.0.1:${p}/hel\u0000lo`,
      `http://127.0.0.1:${p}/hel\tlo`
    ]
    await untouched(async () => {
      for (const url of urls) await assertError(await call('ip', url), 400, 'BAD_REQUEST', JSON.stringify(url))
      await assertError(await cloud.api(`/relay/ip/http/user@127.0.0.1:${p}/hello`), 400, 'BAD_REQUEST', 'path-form userinfo')
    })
  })

  test('the host after a fragment or query is not the host', async () => {
    await untouched(async () => {
      const url = `http://169.254.169.254#@127.0.0.1:${target.port}/hello`
      await assertError(await call('ip', url), 403, 'FORBIDDEN_TARGET', url)
    })
  })

  test('schemes other than http and https are 400 BAD_REQUEST', async () => {
    const urls = ['file:///etc/passwd', `ftp://127.0.0.1:${target.port}/`, `gopher://127.0.0.1:${target.port}/_x`,
      `ws://127.0.0.1:${target.port}/`, 'data:text/plain,x', `//127.0.0.1:${target.port}/hello`, '/hello']
    await untouched(async () => {
      for (const url of urls) {
        await assertError(await call('ip', url), 400, 'BAD_REQUEST', url)
        await assertError(await cloud.api(`/api/relay?bridge=ip&url=${encodeURIComponent(url)}`), 400, 'BAD_REQUEST', `relay ${url}`)
      }
      await assertError(await cloud.api(`/relay/ip/ftp/127.0.0.1:${target.port}/`), 400, 'BAD_REQUEST', 'path-form ftp')
    })
  })
})

describe('redirects', () => {
  const redirect = (to: string): string => `${target.url}/redirect?to=${encodeURIComponent(to)}`
  const hits = (key: string): number => target.counters.get(key) ?? 0

  test('by default a 302 goes back to the caller as it is', async () => {
    const hellos = hits('GET /hello')
    const res = await call('ip', redirect('/hello'))
    const answer = JSON.parse(await res.text()) as { status: number, headers: Record<string, string> }
    assert.equal(answer.status, 302)
    assert.equal(answer.headers.location, '/hello')
    const relayed = await cloud.api(`/api/relay?bridge=ip&url=${encodeURIComponent(redirect('/hello'))}`, { redirect: 'manual' })
    assert.equal(relayed.status, 302)
    assert.equal(relayed.headers.get('location'), '/hello')
    await relayed.arrayBuffer()
    assert.equal(hits('GET /hello'), hellos, 'the bridge did not follow')
  })

  test('--follow-redirects follows within the rules', async () => {
    await assertReached(await call('port', redirect('/hello')), HELLO, 'relative')
    await assertReached(await call('port', redirect(`${target.url}/hello`)), HELLO, 'absolute')
    await assertReached(await call('port', redirect(redirect('/hello'))), HELLO, 'two hops')
  })

  test('a redirect to a blocked host is 403 FORBIDDEN_TARGET and the blocked host sees nothing', async () => {
    for (const to of ['http://169.254.169.254/latest/meta-data/', 'http://[::ffff:a9fe:a9fe]/',
      `http://127.0.0.1:${canary.port}/`, `http://localhost:${canary.port}/`]) {
      const redirects = hits('GET /redirect')
      await untouched(async () => {
        await assertError(await call('port', redirect(to)), 403, 'FORBIDDEN_TARGET', to)
      }, false)
      assert.equal(hits('GET /redirect'), redirects + 1, 'the first hop was made')
    }
  })

  test('a redirect to an injected or non-http URL is refused, never followed', async () => {
    for (const to of [`http://user@127.0.0.1:${target.port}/hello`, 'file:///etc/passwd']) {
      const hellos = hits('GET /hello')
      const res = await call('port', redirect(to))
      await res.text()
      assert.ok(['BAD_REQUEST', 'FORBIDDEN_TARGET'].includes(res.headers.get('x-outbridge-error') ?? ''), `${to}: ${res.status}`)
      assert.equal(hits('GET /hello'), hellos)
    }
  })
})
