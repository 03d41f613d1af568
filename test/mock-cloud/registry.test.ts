import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { test } from 'node:test'
import { BridgeRegistry } from '../../mock-cloud/registry.js'
import type { RegisteredBridge } from '../../mock-cloud/registry.js'

interface FakeBridge extends RegisteredBridge {
  inFlight: number
  state: RegisteredBridge['state']
  rttMs: number | undefined
}

function bridge (name: string, fields: Partial<FakeBridge> = {}): FakeBridge {
  return {
    id: randomUUID(),
    name,
    clientId: 'acc-1',
    agentVersion: '1.2.3',
    connectedAt: new Date('2024-01-01T00:00:00Z'),
    inFlight: 0,
    state: 'open',
    rttMs: undefined,
    ...fields
  }
}

function registryOf (...bridges: FakeBridge[]): BridgeRegistry<FakeBridge> {
  const registry = new BridgeRegistry<FakeBridge>()
  for (const b of bridges) registry.add(b)
  return registry
}

function counts (registry: BridgeRegistry<FakeBridge>, picks: number, selector?: string): Map<string, number> {
  const out = new Map<string, number>()
  for (let i = 0; i < picks; i++) {
    const id = registry.pick(selector).id
    out.set(id, (out.get(id) ?? 0) + 1)
  }
  return out
}

test('picks the open bridge with the fewest calls in flight', () => {
  const [a, b, c] = [bridge('a', { inFlight: 4 }), bridge('b', { inFlight: 1 }), bridge('c', { inFlight: 2 })]
  const registry = registryOf(a, b, c)
  for (let i = 0; i < 5; i++) assert.equal(registry.pick(undefined), b)
})

test('spreads ties round-robin', () => {
  const bridges = [bridge('a'), bridge('b'), bridge('c')]
  const spread = counts(registryOf(...bridges), 300)
  assert.deepEqual([...spread.values()], [100, 100, 100])
})

test('"" and "_" mean any bridge', () => {
  const registry = registryOf(bridge('a'), bridge('b'))
  assert.equal(counts(registry, 10, '').size, 2)
  assert.equal(counts(registry, 10, '_').size, 2)
})

test('a name pins the bridge; a client id picks within its group', () => {
  const [a, b, other] = [bridge('a'), bridge('b'), bridge('x', { clientId: 'acc-2' })]
  const registry = registryOf(a, b, other)
  for (let i = 0; i < 4; i++) assert.equal(registry.pick('b'), b)
  assert.deepEqual(new Set([...counts(registry, 10, 'acc-1').keys()]), new Set([a.id, b.id]))
  assert.equal(registry.pick('acc-2'), other)
})

test('bridges sharing a name are a group: both listed, both take calls', () => {
  const [t1, t2] = [bridge('twin'), bridge('twin')]
  const registry = registryOf(t1, t2)
  assert.deepEqual(registry.list().map((b) => b.session), [t1.id, t2.id])
  assert.deepEqual([...counts(registry, 10, 'twin').values()], [5, 5])
})

test('draining and handshaking bridges get no new calls', () => {
  const [a, b, c] = [bridge('a', { state: 'draining' }), bridge('b', { state: 'handshake' }), bridge('c', { inFlight: 9 })]
  const registry = registryOf(a, b, c)
  for (let i = 0; i < 5; i++) assert.equal(registry.pick(undefined), c)
  c.state = 'draining'
  assert.throws(() => registry.pick(undefined), { code: 'BRIDGE_UNAVAILABLE' })
  assert.throws(() => registry.pick('a'), { code: 'BRIDGE_UNAVAILABLE' })
})

test('no bridge, or no bridge of that name: BRIDGE_UNAVAILABLE', () => {
  assert.throws(() => registryOf().pick(undefined), { code: 'BRIDGE_UNAVAILABLE' })
  assert.throws(() => registryOf(bridge('a')).pick('nope'), { code: 'BRIDGE_UNAVAILABLE' })
})

test('leaves out the bridges a call already tried', () => {
  const [a, b] = [bridge('a'), bridge('b', { inFlight: 5 })]
  const registry = registryOf(a, b)
  assert.equal(registry.pick(undefined, new Set([a])), b)
  assert.throws(() => registry.pick(undefined, new Set([a, b])), { code: 'BRIDGE_UNAVAILABLE' })
})

test('a removed bridge is neither listed nor picked', () => {
  const [a, b] = [bridge('a'), bridge('b')]
  const registry = registryOf(a, b)
  registry.remove(a)
  assert.equal(registry.size, 1)
  assert.deepEqual(registry.list().map((x) => x.name), ['b'])
  for (let i = 0; i < 3; i++) assert.equal(registry.pick(undefined), b)
})

test('lists CONTRACT\'s fields plus state, rttMs (two decimals, null before a heartbeat) and session', () => {
  const a = bridge('a', { inFlight: 2, rttMs: 1.23456 })
  const b = bridge('b', { state: 'draining' })
  assert.deepEqual(registryOf(a, b).list(), [
    { name: 'a', clientId: 'acc-1', version: '1.2.3', connectedAt: '2024-01-01T00:00:00.000Z', inFlight: 2, state: 'open', rttMs: 1.23, session: a.id },
    { name: 'b', clientId: 'acc-1', version: '1.2.3', connectedAt: '2024-01-01T00:00:00.000Z', inFlight: 0, state: 'draining', rttMs: null, session: b.id }
  ])
})

test('keeps the recent calls, 200 by default', () => {
  assert.equal(new BridgeRegistry().recentCalls.capacity, 200)
  assert.equal(new BridgeRegistry(5).recentCalls.capacity, 5)
})
