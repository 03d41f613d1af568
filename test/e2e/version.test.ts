/**
 * End to end: protocol version negotiation when the two sides have no version in common. The
 * mock cloud refuses a HELLO offering only v99 with a GOAWAY UNSUPPORTED_VERSION and close code
 * 4002; the agent, told by a fake cloud to speak v99, logs an error naming the problem and backs
 * off as after a rejected login instead of hammering.
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { after, test } from 'node:test'
import WebSocket, { WebSocketServer } from 'ws'
import { signAgentToken } from '../../agent/auth.js'
import { decodeMessage, encodeMessage } from '../../protocol/codec.js'
import type { DecodedFrame } from '../../protocol/codec.js'
import { DEFAULT_LIMITS, subprotocolOf } from '../../protocol/version.js'
import { cleanup, DEFAULT_CLIENT, startAgent, startCloud, waitFor } from './harness.js'

const UNKNOWN_VERSION = 99
/** The agent's normal first retry comes within 250 ms; after a refusal it must wait 5 s or more. */
const QUIET_MS = 4_500

const servers = new Set<WebSocketServer>()
after(async () => {
  for (const server of servers) {
    for (const client of server.clients) client.terminate()
    server.close()
  }
  await cleanup()
})

function framesOf (messages: readonly Buffer[]): DecodedFrame[] {
  return messages.flatMap((message) => decodeMessage(message, { maxFrameBytes: DEFAULT_LIMITS.maxFrameBytes }).frames)
}

test(`the cloud answers a HELLO offering only v${UNKNOWN_VERSION} with GOAWAY UNSUPPORTED_VERSION and close code 4002`, async () => {
  const cloud = await startCloud()
  const token = await signAgentToken({ kind: 'secret', secret: DEFAULT_CLIENT.secret }, DEFAULT_CLIENT.id, `ws://127.0.0.1:${cloud.port}/agent`)
  const ws = new WebSocket(cloud.agentUrl, subprotocolOf(UNKNOWN_VERSION), { headers: { authorization: `Bearer ${token}` } })
  const messages: Buffer[] = []
  ws.on('message', (data: Buffer) => messages.push(data))
  await once(ws, 'open')
  ws.send(encodeMessage([{
    type: 'hello', versions: [UNKNOWN_VERSION], name: 'raw-v99', agent: '0.0.0-test', capabilities: [], limits: DEFAULT_LIMITS
  }]))
  const [code] = await once(ws, 'close') as [number, Buffer]
  assert.equal(code, 4002)
  const goaway = framesOf(messages).find((frame) => frame.type === 'goaway')
  assert.ok(goaway?.type === 'goaway', `frames: ${JSON.stringify(framesOf(messages))}`)
  assert.equal(goaway.code, 'UNSUPPORTED_VERSION')
  assert.match(goaway.message, new RegExp(`\\b${UNKNOWN_VERSION}\\b`), 'the message names the offered version')
  assert.match(goaway.message, /\b1\b/, 'the message names the version the cloud speaks')
  const logged = cloud.proc.json().find((line) => line.code === 'UNSUPPORTED_VERSION')
  assert.ok(logged !== undefined, 'the cloud logs the refusal')
  assert.ok(Number(logged.level) >= 40)
  assert.match(String(logged.msg), new RegExp(`\\b${UNKNOWN_VERSION}\\b`))
  assert.deepEqual(await cloud.bridges(), [])
})

/** A ws server that plays a cloud answering every HELLO with WELCOME version 99. */
async function startFakeCloud (): Promise<{ url: string, connections: number[], received: Buffer[] }> {
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1', handleProtocols: (offered) => [...offered][0] ?? false })
  servers.add(server)
  await once(server, 'listening')
  const connections: number[] = []
  const received: Buffer[] = []
  server.on('connection', function answerWithV99 (ws) {
    connections.push(performance.now())
    ws.on('message', (data: Buffer) => {
      received.push(data)
      if (!framesOf([data]).some((frame) => frame.type === 'hello')) return
      ws.send(encodeMessage([{ type: 'welcome', version: UNKNOWN_VERSION, session: 'fake', heartbeatMs: 10_000, limits: DEFAULT_LIMITS }]))
    })
  })
  return { url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/agent`, connections, received }
}

test(`an agent told to speak v${UNKNOWN_VERSION} logs an error naming the version and backs off like a rejected login`, async () => {
  const fake = await startFakeCloud()
  const agent = await startAgent({ agentUrl: fake.url }, { waitConnected: false })
  const line = JSON.parse(await agent.proc.waitForLine((l) => l.includes('"code":"UNSUPPORTED_VERSION"'))) as { level: number, msg: string }
  assert.equal(line.level, 50, 'logged as an error')
  assert.match(line.msg, new RegExp(`version ${UNKNOWN_VERSION}\\b`))
  const goaway = framesOf(fake.received).find((frame) => frame.type === 'goaway')
  assert.equal(goaway?.type === 'goaway' ? goaway.code : goaway, 'UNSUPPORTED_VERSION', 'the agent tells the cloud why it leaves')
  const firstAt = fake.connections[0]
  await waitFor(() => performance.now() - firstAt >= QUIET_MS, { timeoutMs: QUIET_MS + 1_000, intervalMs: 100 })
  assert.equal(fake.connections.length, 1, `connections ${fake.connections.map((at) => Math.round(at - firstAt)).join(', ')} ms after the first`)
  assert.ok(!agent.proc.lines.some((l) => l.includes('"msg":"connected"')), 'never reported as connected')
})
