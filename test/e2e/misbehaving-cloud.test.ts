/**
 * A cloud that breaks the protocol must never crash the agent: it ends the session and
 * reconnects. The fake cloud here accepts any upgrade and answers HELLO with WELCOME, then
 * sends what a broken or hostile peer might.
 */
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import type { AddressInfo } from 'node:net'
import { WebSocketServer, type WebSocket } from 'ws'
import { decodeMessage, encodeMessage } from '../../protocol/codec.js'
import { DEFAULT_LIMITS } from '../../protocol/version.js'
import { cleanup, spawnCli, makeTempDir, waitFor } from './harness.js'

after(cleanup)

type Misbehaviour = (ws: WebSocket) => void

async function fakeCloud (misbehave: Misbehaviour): Promise<{ url: string, connections: () => number, close: () => Promise<void> }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, handleProtocols: (p) => [...p][0] ?? false })
  let connections = 0
  wss.on('connection', (ws) => {
    connections++
    ws.on('message', (data: Buffer) => {
      const { frames } = decodeMessage(data, { maxFrameBytes: DEFAULT_LIMITS.maxFrameBytes })
      if (frames[0]?.type !== 'hello') return
      ws.send(encodeMessage([{ type: 'welcome', version: 1, session: `s${connections}`, heartbeatMs: 10_000, limits: DEFAULT_LIMITS }]))
      setTimeout(() => misbehave(ws), 50)
    })
  })
  await new Promise((resolve) => wss.once('listening', resolve))
  const { port } = wss.address() as AddressInfo
  return {
    url: `ws://127.0.0.1:${port}/agent`,
    connections: () => connections,
    close: () => new Promise((resolve) => { for (const c of wss.clients) c.terminate(); wss.close(() => resolve()) })
  }
}

const CASES: ReadonlyArray<[string, Misbehaviour]> = [
  ['a text message', (ws) => ws.send('{"type":"request"}')],
  ['garbage bytes', (ws) => ws.send(Buffer.from([0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]))],
  ['an empty binary message', (ws) => ws.send(Buffer.alloc(0))],
  ['a frame for a stream never opened', (ws) => ws.send(encodeMessage([{ type: 'window', stream: 99, increment: 10 }]))]
]

for (const [name, misbehave] of CASES) {
  test(`the agent survives ${name} from the cloud and reconnects`, async () => {
    const cloud = await fakeCloud(misbehave)
    try {
      const agent = spawnCli(['agent', '--cloud-url', cloud.url, '--client-id', 'x', '--client-secret', 'y', '--name', 'm', '--data-dir', makeTempDir()])
      await waitFor(() => cloud.connections() >= 2, { timeoutMs: 10_000, message: 'the agent did not reconnect' })
      assert.equal(agent.child.exitCode, null, 'the agent process must still run')
      const lines = agent.json()
      assert.ok(lines.some((l) => l.msg === 'connected'))
      assert.ok(!agent.stderr.some((l) => /TypeError|uncaught/i.test(l)), agent.stderr.join('\n'))
      await agent.stop()
    } finally {
      await cloud.close()
    }
  })
}
