import assert from 'node:assert/strict'
import { once } from 'node:events'
import { connect, createServer } from 'node:net'
import type { AddressInfo, Server, Socket } from 'node:net'
import { setTimeout as delay } from 'node:timers/promises'
import { after, test } from 'node:test'
import { waitFor } from '../e2e/harness.js'
import { snapshotResources, waitForBaseline } from './resources.js'
import { startTcpRelay } from './tcp-relay.js'
import type { TcpRelay } from './tcp-relay.js'

/** A TCP echo server that half-closes when its client does; keeps its sockets for inspection. */
interface EchoServer { readonly server: Server, readonly port: number, readonly sockets: Socket[], readonly received: () => number }

const servers: Server[] = []
after(() => { for (const server of servers) server.close() })

async function startEcho (): Promise<EchoServer> {
  const sockets: Socket[] = []
  let received = 0
  const server = createServer({ allowHalfOpen: true }, function onEchoConnection (socket) {
    sockets.push(socket)
    socket.on('error', () => {})
    socket.on('data', (chunk: Buffer) => { received += chunk.length })
    socket.pipe(socket)
  })
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { server, port: (server.address() as AddressInfo).port, sockets, received: () => received }
}

async function dial (relay: TcpRelay): Promise<Socket> {
  const socket = connect({ host: '127.0.0.1', port: relay.port, allowHalfOpen: true })
  await once(socket, 'connect')
  return socket
}

/** Collects everything `socket` receives until it ends. */
function collect (socket: Socket): { readonly data: () => Buffer, readonly ended: Promise<Buffer> } {
  const chunks: Buffer[] = []
  socket.on('data', (chunk: Buffer) => { chunks.push(chunk) })
  const ended = once(socket, 'end').then(() => Buffer.concat(chunks))
  return { data: () => Buffer.concat(chunks), ended }
}

/** Resolves with `hadError` when `socket` closes (unlike `once`, not rejected by 'error'). */
function closed (socket: Socket): Promise<boolean> {
  socket.on('error', () => {})
  return new Promise((resolve) => socket.once('close', resolve))
}

async function withRelay (fn: (relay: TcpRelay, echo: EchoServer) => Promise<void>): Promise<void> {
  const echo = await startEcho()
  const relay = await startTcpRelay({ host: '127.0.0.1', port: echo.port })
  try {
    await fn(relay, echo)
  } finally {
    await relay.close()
  }
}

test('pass mode forwards both ways, half-closes, and counts', { timeout: 10_000 }, () => withRelay(async (relay) => {
  const socket = await dial(relay)
  const got = collect(socket)
  socket.end('hello relay')
  assert.equal((await got.ended).toString(), 'hello relay')
  assert.deepEqual(relay.bytes, { up: 11, down: 11 })
  assert.equal(relay.accepted, 1)
  await waitFor(() => relay.connections === 0)
}))

test('latency delays each direction and keeps order when it changes', { timeout: 10_000 }, () => withRelay(async (relay) => {
  const socket = await dial(relay)
  const got = collect(socket)
  relay.setLatency(200)
  const started = performance.now()
  socket.write('a')
  await waitFor(() => relay.held === 1)
  relay.setLatency(0)
  socket.write('b')
  await waitFor(() => got.data().length === 2)
  assert.ok(performance.now() - started >= 195, 'the first byte waited for its latency')
  assert.equal(got.data().toString(), 'ab')
  socket.destroy()
}))

test('bandwidth caps the byte rate', { timeout: 10_000 }, () => withRelay(async (relay, echo) => {
  relay.setBandwidth(100_000)
  const socket = await dial(relay)
  const started = performance.now()
  socket.write(Buffer.alloc(50_000))
  await waitFor(() => echo.received() === 50_000)
  const elapsed = performance.now() - started
  assert.ok(elapsed >= 400 && elapsed < 2000, `50 kB at 100 kB/s took ${elapsed} ms`)
  relay.setBandwidth(undefined)
  socket.destroy()
}))

test('blackhole holds data and FIN with both sockets open, pass releases them', { timeout: 10_000 }, () => withRelay(async (relay, echo) => {
  const socket = await dial(relay)
  const got = collect(socket)
  relay.setMode('blackhole')
  socket.end('lost?')
  // Proving that nothing arrives takes a bounded wait.
  await delay(200)
  assert.equal(echo.received(), 0)
  assert.equal(echo.sockets[0].readableEnded, false)
  assert.equal(socket.destroyed, false)
  assert.equal(relay.connections, 1)
  relay.setMode('pass')
  assert.equal((await got.ended).toString(), 'lost?')
}))

test('closeAll fin ends both sides cleanly', { timeout: 10_000 }, () => withRelay(async (relay, echo) => {
  const socket = await dial(relay)
  const got = collect(socket)
  await waitFor(() => echo.sockets.length === 1)
  relay.closeAll('fin')
  await got.ended
  await once(echo.sockets[0], 'end')
  socket.end()
  await waitFor(() => relay.connections === 0)
}))

test('closeAll rst resets both sides', { timeout: 10_000 }, () => withRelay(async (relay, echo) => {
  const socket = await dial(relay)
  await waitFor(() => echo.sockets.length === 1)
  const serverSide = closed(echo.sockets[0])
  relay.closeAll('rst')
  const [err] = await once(socket, 'error') as [NodeJS.ErrnoException]
  assert.equal(err.code, 'ECONNRESET')
  assert.equal(await serverSide, true)
}))

test('a reset from the target reaches the client as a reset', { timeout: 10_000 }, () => withRelay(async (relay, echo) => {
  const socket = await dial(relay)
  await waitFor(() => echo.sockets.length === 1)
  echo.sockets[0].resetAndDestroy()
  const [err] = await once(socket, 'error') as [NodeJS.ErrnoException]
  assert.equal(err.code, 'ECONNRESET')
}))

test('an unreachable target resets the client', { timeout: 10_000 }, async () => {
  const closed = await startEcho()
  closed.server.close()
  await once(closed.server, 'close')
  const relay = await startTcpRelay({ host: '127.0.0.1', port: closed.port })
  try {
    const socket = await dial(relay)
    const [err] = await once(socket, 'error') as [NodeJS.ErrnoException]
    assert.equal(err.code, 'ECONNRESET')
  } finally {
    await relay.close()
  }
})

test('close() destroys live connections and leaves no handle behind', { timeout: 15_000 }, async () => {
  const echo = await startEcho()
  const baseline = snapshotResources()
  const relay = await startTcpRelay({ host: '127.0.0.1', port: echo.port })
  const socket = await dial(relay)
  relay.setMode('blackhole')
  socket.write('held')
  await relay.close()
  await closed(socket)
  await waitFor(() => echo.sockets.every((s) => s.destroyed))
  await waitForBaseline(baseline)
  assert.equal(relay.url('ws', '/agent'), `ws://127.0.0.1:${relay.port}/agent`)
})

test('setLatency and setBandwidth refuse nonsense', { timeout: 10_000 }, () => withRelay(async (relay) => {
  assert.throws(() => relay.setLatency(-1), RangeError)
  assert.throws(() => relay.setBandwidth(0), RangeError)
}))
