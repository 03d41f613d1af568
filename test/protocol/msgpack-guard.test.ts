import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { scanMsgpack } from '../../protocol/msgpack-guard.js'
import { HEAD_LIMITS } from '../../protocol/version.js'
import { msgpack } from './fixtures.js'

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex')
const DEPTH = 6

/** [what, hex bytes]: one complete value each, accepted at depth 6. */
const ACCEPTED: ReadonlyArray<readonly [string, string]> = [
  ['positive fixint 0', '00'], ['positive fixint 0x7f', '7f'], ['negative fixint -1', 'ff'], ['negative fixint -32', 'e0'],
  ['nil', 'c0'], ['false', 'c2'], ['true', 'c3'],
  ['uint8', 'cc ff'], ['uint16', 'cd ffff'], ['uint32', 'ce ffffffff'], ['uint64', 'cf 0000000000000001'],
  ['int8', 'd0 80'], ['int16', 'd1 8000'], ['int32', 'd2 80000000'], ['int64', 'd3 8000000000000000'],
  ['float32', 'ca 3f800000'], ['float64', 'cb 3ff0000000000000'],
  ['empty fixstr', 'a0'], ['fixstr of 31', 'bf' + '61'.repeat(31)], ['str8', 'd9 02 6162'], ['str16', 'da 0001 61'], ['str32', 'db 00000001 61'],
  ['bin8', 'c4 02 0102'], ['bin16', 'c5 0000'], ['bin32', 'c6 00000001 ff'],
  ['empty fixarray', '90'], ['fixarray of 15', '9f' + 'c0'.repeat(15)], ['array16', 'dc 0002 01 02'], ['array32', 'dd 00000001 c0'],
  ['empty fixmap', '80'], ['fixmap', '81 a1 61 01'], ['map16', 'de 0001 a1 61 c3'], ['map32', 'df 00000001 01 02'],
  ['a map with non-string keys (the decoder judges those)', '81 90 01'],
  ['nested containers', '82 a1 61 92 01 81 a1 62 90 a1 63 c0']
]

/** [what, hex bytes]: refused. */
const REFUSED: ReadonlyArray<readonly [string, string]> = [
  ['nothing at all', ''],
  ['the reserved byte 0xc1', 'c1'],
  ['fixext1 (msgpackr undefined)', 'd4 00 00'], ['fixext1 record definition', 'd4 72 40'], ['fixext2', 'd5 01 0000'],
  ['fixext4 (timestamp)', 'd6 ff 00000000'], ['fixext8', 'd7 01 0000000000000000'], ['fixext16', 'd8 01' + '00'.repeat(16)],
  ['ext8', 'c7 01 01 00'], ['ext16', 'c8 0001 01 00'], ['ext32', 'c9 00000001 01 00'],
  ['an extension inside a map', '81 a1 61 d6 ff 00000000'],
  ['two values (trailing bytes)', 'c0 c0'], ['a map followed by a byte', '80 00'],
  ['a truncated uint16', 'cd ff'], ['a truncated uint64', 'cf 00000000000000'], ['a truncated float64', 'cb 3ff00000'],
  ['a str8 without its length', 'd9'], ['a str16 with one length byte', 'da 00'], ['a str32 with three length bytes', 'db 000000'],
  ['a fixstr longer than the buffer', 'a3 6162'], ['a str8 longer than the buffer', 'd9 05 61'], ['a bin16 longer than the buffer', 'c5 0100 00'],
  ['a str32 claiming 4 GiB', 'db ffffffff 61'], ['a bin32 claiming 4 GiB', 'c6 ffffffff 61'],
  ['an array32 claiming 2^32-1 elements', 'dd ffffffff 01'], ['a map32 claiming 2^32-1 entries', 'df ffffffff 01 02'],
  ['an array16 with a missing element', 'dc 0003 01 02'], ['a fixmap with a missing value', '81 a1 61'],
  ['a fixarray claiming more than the buffer', '9f 01']
]

test('accepts every non-extension MessagePack type', () => {
  for (const [what, bytes] of ACCEPTED) assert.equal(scanMsgpack(hex(bytes), DEPTH), undefined, what)
})

test('refuses extensions, 0xc1, trailing bytes, truncation and oversized claims', () => {
  for (const [what, bytes] of REFUSED) assert.equal(typeof scanMsgpack(hex(bytes), DEPTH), 'string', what)
})

test('exactly the extension lead bytes and 0xc1 are refused as a type', () => {
  const refused = [0xc1, 0xc7, 0xc8, 0xc9, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8]
  for (let b = 0; b <= 0xff; b++) {
    // Zero size fields and zero elements: some number of zero bytes after b completes the value,
    // unless b itself is refused.
    let accepted = false
    for (let k = 0; k <= 40 && !accepted; k++) accepted = scanMsgpack(Buffer.from([b, ...Buffer.alloc(k)]), DEPTH) === undefined
    assert.equal(accepted, !refused.includes(b), `0x${b.toString(16)}`)
  }
})

function nestedArrays (depth: number): Buffer {
  return Buffer.concat([Buffer.alloc(depth, 0x91), Buffer.from([0x01])])
}

function nestedMaps (depth: number): Buffer {
  const out: number[] = []
  for (let i = 0; i < depth; i++) out.push(0x81, 0xa1, 0x6b)
  out.push(0xc0)
  return Buffer.from(out)
}

test('depth: exactly at the limit is accepted, one over is refused', () => {
  for (const limit of [1, 2, DEPTH, 32]) {
    for (const build of [nestedArrays, nestedMaps]) {
      assert.equal(scanMsgpack(build(limit), limit), undefined, `${build.name} ${limit}`)
      assert.equal(typeof scanMsgpack(build(limit + 1), limit), 'string', `${build.name} ${limit + 1}`)
    }
  }
  // Empty containers count as a level too; scalars do not.
  assert.equal(scanMsgpack(hex('91 91 90'), 3), undefined)
  assert.equal(typeof scanMsgpack(hex('91 91 91 90'), 3), 'string')
  assert.equal(scanMsgpack(hex('c0'), 0), undefined)
  assert.equal(typeof scanMsgpack(hex('90'), 0), 'string')
})

test('depth counts the current path, not the number of containers', () => {
  // 1000 sibling arrays one level down: depth 2
  const wide = Buffer.concat([hex('dc 03e8'), Buffer.alloc(1000, 0x90)])
  assert.equal(scanMsgpack(wide, 2), undefined)
  assert.equal(scanMsgpack(hex('92 91 91 01 91 91 01'), 3), undefined)
})

test('a long flat head is scanned without recursion trouble', () => {
  const big = Buffer.concat([hex('dd 00010000'), Buffer.alloc(0x10000, 0xc0)])
  assert.equal(scanMsgpack(big, 1), undefined)
  assert.equal(typeof scanMsgpack(big.subarray(0, big.byteLength - 1), 1), 'string')
})

test('scans a view into a larger buffer by its own bounds', () => {
  const outer = hex('ff ff 92 01 02 ff')
  assert.equal(scanMsgpack(outer.subarray(2, 5), DEPTH), undefined)
  assert.equal(typeof scanMsgpack(outer.subarray(2, 4), DEPTH), 'string')
})

test('accepts whatever msgpackr writes for JSON-like values within the depth limit', () => {
  fc.assert(fc.property(fc.jsonValue({ depthSize: 'large', maxDepth: HEAD_LIMITS.maxDepth }), (value) => {
    assert.equal(scanMsgpack(msgpack(value), HEAD_LIMITS.maxDepth), undefined)
  }), { numRuns: 500 })
})

test('any strict prefix of a well-formed value is refused', () => {
  fc.assert(fc.property(fc.jsonValue({ maxDepth: 4 }), fc.nat(), (value, cut) => {
    const bytes = msgpack(value)
    const prefix = bytes.subarray(0, cut % bytes.byteLength)
    assert.equal(typeof scanMsgpack(prefix, HEAD_LIMITS.maxDepth), 'string')
  }), { numRuns: 500 })
})
