/**
 * RoutedCall against real BridgeSessions whose WebSockets are fakes: the test plays the agents,
 * reading the frames the cloud sends and answering with encoded frames.
 */
import assert from 'node:assert/strict'
import { EventEmitter } from 'node:events'
import { after, test } from 'node:test'
import { setImmediate as turn } from 'node:timers/promises'
import type WebSocket from 'ws'
import { createLogger } from '../../agent/logger.js'
import { decodeMessage, encodeMessage } from '../../protocol/codec.js'
import type { DecodedFrame } from '../../protocol/codec.js'
import type { ErrorCode } from '../../protocol/errors.js'
import type { Frame } from '../../protocol/frames.js'
import { DEFAULT_LIMITS, PROTOCOL_VERSIONS } from '../../protocol/version.js'
import { BridgeSession } from '../../mock-cloud/bridge-session.js'
import { BridgeRegistry } from '../../mock-cloud/registry.js'
import { MAX_ATTEMPTS, RoutedCall } from '../../mock-cloud/route-call.js'
import type { RouteRequest } from '../../mock-cloud/route-call.js'

/** Just enough of a ws socket for BridgeSession. */
class FakeSocket extends EventEmitter {
  readonly OPEN = 1
  readonly sent: Buffer[] = []
  readyState = 1
  send (message: Buffer): void { this.sent.push(message) }
  close (): void { this.readyState = 3 }
  terminate (): void { this.readyState = 3 }
  /** Every frame the cloud sent so far. */
  frames (): DecodedFrame[] {
    return this.sent.flatMap((m) => decodeMessage(m, { maxFrameBytes: DEFAULT_LIMITS.maxFrameBytes }).frames)
  }

  receive (...frames: Frame[]): void { this.emit('message', encodeMessage(frames), true) }
}

interface Bridge { readonly socket: FakeSocket, readonly session: BridgeSession }

const log = createLogger('silent')
const sessions: BridgeSession[] = []
after(() => { for (const s of sessions) s.close(1000, 'test over') })

function openBridges (registry: BridgeRegistry, n: number): Bridge[] {
  return Array.from({ length: n }, (_, i) => {
    const socket = new FakeSocket()
    const session = new BridgeSession(socket as unknown as WebSocket, {
      clientId: 'acc-1', limits: DEFAULT_LIMITS, heartbeatMs: 60_000, helloTimeout: 60_000, defaultCallTimeout: 60_000, log
    }, { ready: (s) => registry.add(s), closed: (s) => registry.remove(s), changed () {} })
    sessions.push(session)
    socket.receive({ type: 'hello', versions: [...PROTOCOL_VERSIONS], name: `b${i}`, agent: '0.0.0-test', capabilities: [], limits: DEFAULT_LIMITS })
    return { socket, session }
  })
}

interface Outcome { head?: number, body: string, end: boolean, error?: { code: ErrorCode, afterHead: boolean } }

function route (registry: BridgeRegistry, request: Partial<RouteRequest> = {}): { call: RoutedCall, outcome: Outcome } {
  const outcome: Outcome = { body: '', end: false }
  const call = new RoutedCall(registry, { method: 'POST', url: 'http://10.0.0.5/x', headers: [], timeoutMs: 0, hasBody: false, ...request }, {
    onHead (status) { outcome.head = status },
    onData (chunk, done) { outcome.body += Buffer.from(chunk).toString(); done() },
    onEnd () { outcome.end = true },
    onError (code, _message, afterHead) { outcome.error = { code, afterHead } }
  })
  return { call, outcome }
}

function carrier (bridges: Bridge[], call: RoutedCall): Bridge {
  const found = bridges.find((b) => b.session === call.session)
  assert.ok(found)
  return found
}

/** The carrying bridge answers the call's REQUEST with a RESET of `code`. */
async function refuse (bridges: Bridge[], call: RoutedCall, code: ErrorCode): Promise<Bridge> {
  await turn()
  const bridge = carrier(bridges, call)
  const request = bridge.socket.frames().findLast((f) => f.type === 'request')
  assert.ok(request?.type === 'request')
  bridge.socket.receive({ type: 'reset', stream: request.stream, code, message: 'refused' })
  return bridge
}

test('a call refused with DRAINING moves to another bridge, body and all', async () => {
  const registry = new BridgeRegistry()
  const bridges = openBridges(registry, 2)
  const { call, outcome } = route(registry, { body: Buffer.from('payload') })
  const first = await refuse(bridges, call, 'DRAINING')
  assert.notEqual(call.session, first.session)
  assert.equal(call.attempts, 2)
  await turn()
  const frames = carrier(bridges, call).socket.frames().filter((f) => f.type !== 'welcome')
  assert.equal(frames[0].type, 'request')
  assert.equal(frames[0].type === 'request' && frames[0].url, 'http://10.0.0.5/x')
  const body = frames.flatMap((f) => (f.type === 'data' ? [Buffer.from(f.chunk).toString()] : [])).join('')
  assert.equal(body, 'payload')
  const last = frames.at(-1)
  assert.ok(last?.type === 'data' && last.end)
  carrier(bridges, call).socket.receive({ type: 'response', stream: 1, status: 200, headers: [], end: false }, { type: 'data', stream: 1, end: true, chunk: Buffer.from('ok') })
  assert.deepEqual(outcome, { head: 200, body: 'ok', end: true })
  assert.equal(call.done, true)
})

test('a streamed body that ended before any byte is ended again on the next bridge', async () => {
  const registry = new BridgeRegistry()
  const bridges = openBridges(registry, 2)
  const { call, outcome } = route(registry, { hasBody: true })
  call.end()
  await refuse(bridges, call, 'DRAINING')
  await turn()
  const last = carrier(bridges, call).socket.frames().at(-1)
  assert.ok(last?.type === 'data' && last.end && last.chunk.byteLength === 0)
  assert.equal(outcome.error, undefined)
})

test('once streamed body bytes went out, DRAINING reaches the caller', async () => {
  const registry = new BridgeRegistry()
  const bridges = openBridges(registry, 2)
  const { call, outcome } = route(registry, { hasBody: true })
  call.write(Buffer.from('streamed'), () => {})
  await refuse(bridges, call, 'DRAINING')
  assert.deepEqual(outcome.error, { code: 'DRAINING', afterHead: false })
  assert.equal(call.attempts, 1)
})

test('any other refusal reaches the caller as it is', async () => {
  const registry = new BridgeRegistry()
  const bridges = openBridges(registry, 2)
  const { call, outcome } = route(registry)
  await refuse(bridges, call, 'TOO_MANY_STREAMS')
  assert.deepEqual(outcome.error, { code: 'TOO_MANY_STREAMS', afterHead: false })
  assert.equal(call.attempts, 1)
})

test(`at most ${MAX_ATTEMPTS} bridges are tried`, async () => {
  assert.equal(MAX_ATTEMPTS, 3)
  const registry = new BridgeRegistry()
  const bridges = openBridges(registry, 4)
  const { call, outcome } = route(registry)
  for (let i = 0; i < MAX_ATTEMPTS; i++) await refuse(bridges, call, 'DRAINING')
  assert.deepEqual(outcome.error, { code: 'DRAINING', afterHead: false })
  assert.equal(call.attempts, 3)
})

test('when no other bridge is left the caller gets BRIDGE_UNAVAILABLE', async () => {
  const registry = new BridgeRegistry()
  const bridges = openBridges(registry, 1)
  const { call, outcome } = route(registry)
  await refuse(bridges, call, 'DRAINING')
  assert.deepEqual(outcome.error, { code: 'BRIDGE_UNAVAILABLE', afterHead: false })
})

test('without any bridge the call is not opened', () => {
  assert.throws(() => route(new BridgeRegistry()), { code: 'BRIDGE_UNAVAILABLE' })
})
