import { test } from 'node:test'
import assert from 'node:assert/strict'
import { decodeMessage, encodeMessage } from '../../protocol/codec.js'
import { HEADER_BYTES } from '../../protocol/frames.js'
import {
  CLOSE_CODE, DEFAULT_LIMITS, HEAD_LIMITS, PROTOCOL_VERSIONS, negotiateVersion, subprotocolOf, versionOfSubprotocol
} from '../../protocol/version.js'

test('pins the versions, close codes and limits (PROTOCOL.md documents these numbers)', () => {
  assert.deepEqual(PROTOCOL_VERSIONS, [1])
  assert.deepEqual({ ...CLOSE_CODE }, {
    normal: 1000, goingAway: 1001, protocolError: 1002, unsupportedVersion: 4002, tokenExpired: 4003, heartbeatTimeout: 4008
  })
  assert.deepEqual({ ...DEFAULT_LIMITS }, {
    maxMessageBytes: 1_052_672, maxFrameBytes: 262_144, initialWindow: 4_194_304, maxStreams: 1024, maxBodyBytes: 1_073_741_824
  })
  assert.deepEqual({ ...HEAD_LIMITS }, { maxHeadBytes: 131_072, maxDepth: 6, maxHeaders: 256, maxUrlLength: 16_384 })
})

test('the tables are frozen', () => {
  for (const table of [PROTOCOL_VERSIONS, CLOSE_CODE, DEFAULT_LIMITS, HEAD_LIMITS]) assert.ok(Object.isFrozen(table))
})

test('the default limits are consistent and pass the HELLO validation', () => {
  assert.ok(DEFAULT_LIMITS.maxFrameBytes + HEADER_BYTES <= DEFAULT_LIMITS.maxMessageBytes)
  assert.ok(HEAD_LIMITS.maxHeadBytes + HEADER_BYTES <= DEFAULT_LIMITS.maxMessageBytes)
  assert.ok(DEFAULT_LIMITS.initialWindow >= DEFAULT_LIMITS.maxFrameBytes)
  assert.ok(DEFAULT_LIMITS.initialWindow <= 0x7fffffff)
  const hello = { type: 'hello', versions: PROTOCOL_VERSIONS, name: 'b', agent: '', capabilities: [], limits: DEFAULT_LIMITS } as const
  assert.deepEqual(decodeMessage(encodeMessage([hello]), DEFAULT_LIMITS), { frames: [hello] })
})

test('close codes are valid WebSocket close codes', () => {
  for (const code of Object.values(CLOSE_CODE)) assert.ok((code >= 1000 && code <= 1003) || (code >= 4000 && code <= 4999), String(code))
})

test('subprotocol names round-trip for every version this build speaks', () => {
  assert.equal(subprotocolOf(1), 'outbridge.v1')
  for (const v of [...PROTOCOL_VERSIONS, 2, 9999]) assert.equal(versionOfSubprotocol(subprotocolOf(v)), v)
})

test('versionOfSubprotocol refuses names that are not ours', () => {
  for (const name of ['', 'outbridge', 'outbridge.v', 'outbridge.v0', 'outbridge.v01', 'outbridge.v10000', 'Outbridge.v1',
    'outbridge.V1', 'outbridge.v1 ', ' outbridge.v1', 'outbridge.v1.1', 'outbridge-v1', 'outbridgexv1', 'outbridge.v-1', 'x.outbridge.v1']) {
    assert.equal(versionOfSubprotocol(name), undefined, JSON.stringify(name))
  }
})

test('negotiateVersion picks the highest common version, in any offered order', () => {
  assert.equal(negotiateVersion([1]), 1)
  assert.equal(negotiateVersion([3, 1, 2], [1, 2]), 2)
  assert.equal(negotiateVersion([1, 2, 1], [2, 1]), 2)
  assert.equal(negotiateVersion([5, 7], [1, 2]), undefined)
  assert.equal(negotiateVersion([]), undefined)
  assert.equal(negotiateVersion([2]), undefined)
})
