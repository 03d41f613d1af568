/**
 * The agent's Connection against a real WebSocket server on 127.0.0.1: how long it waits before
 * coming back after the server ends a session, by the way the session ended.
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { after, test } from 'node:test'
import { WebSocketServer } from 'ws'
import type WebSocket from 'ws'
import { Connection } from '../../agent/connection.js'
import { CLOSE_CODE } from '../../protocol/version.js'

const servers: WebSocketServer[] = []
const connections: Connection[] = []
after(async () => {
  for (const connection of connections) connection.stop()
  for (const server of servers) {
    for (const client of server.clients) client.terminate()
    await new Promise((resolve) => server.close(resolve))
  }
})

/** A server that hands each accepted socket to `onSocket` and records when each attempt arrived. */
async function server (onSocket: (socket: WebSocket, index: number) => void): Promise<{ url: string, arrivals: number[] }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 })
  servers.push(wss)
  await once(wss, 'listening')
  const arrivals: number[] = []
  wss.on('connection', (socket) => {
    arrivals.push(performance.now())
    onSocket(socket, arrivals.length - 1)
  })
  return { url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, arrivals }
}

function connect (url: string): Connection {
  const connection = new Connection({
    url,
    protocols: [],
    token: async () => 'token',
    insecure: false,
    maxPayload: 1024 * 1024,
    handshakeTimeout: 2000,
    userAgent: 'test',
    // Fast and steep, no jitter below the ceiling: 100 ms after a stable link, 1 s after one more failure.
    backoff: { initial: 100, factor: 10, max: 10_000, stableAfter: 600, random: () => 1 - Number.EPSILON }
  }, { onOpen () {}, onMessage () {}, onClose () {}, onFailure () {} })
  connections.push(connection)
  connection.start()
  return connection
}

test('sessions ended by token renewals (4003) add up to a stable link: an abrupt loss after them retries at the first delay', { timeout: 20_000 }, async () => {
  // Sessions of 400 ms each, every one shorter than stableAfter (600 ms): renewal, drop,
  // renewal, drop. Each drop comes after 800 ms of continuous link, so each must retry fast.
  const { url, arrivals } = await server((socket, index) => {
    setTimeout(() => {
      if (index % 2 === 0) socket.close(CLOSE_CODE.tokenExpired, 'token expired')
      else socket.terminate()
    }, 400)
  })
  connect(url)
  while (arrivals.length < 5) await new Promise((resolve) => setTimeout(resolve, 50))
  const gaps = arrivals.slice(1).map((at, i) => Math.round(at - arrivals[i] - 400))
  // gaps[0] and gaps[2] follow renewals (at once); gaps[1] and gaps[3] follow abrupt losses.
  assert.ok(gaps[0] < 300 && gaps[2] < 300, `after renewals: ${gaps.join(', ')} ms`)
  assert.ok(gaps[1] < 600 && gaps[3] < 600, `after abrupt losses of a renewed link, expected about 100 ms: ${gaps.join(', ')} ms`)
})

test('a link that drops before it is stable keeps growing its delay', { timeout: 20_000 }, async () => {
  const { url, arrivals } = await server((socket) => { setTimeout(() => socket.terminate(), 100) })
  connect(url)
  while (arrivals.length < 3) await new Promise((resolve) => setTimeout(resolve, 50))
  const gaps = arrivals.slice(1).map((at, i) => Math.round(at - arrivals[i] - 100))
  assert.ok(gaps[1] >= 800, `the second retry of a flapping link waits about 1 s: ${gaps.join(', ')} ms`)
})
