/**
 * A pre-scan of MessagePack bytes, run before msgpackr sees them: it walks the structure
 * without allocating and refuses input that is deeper than `maxDepth`, that declares more
 * elements or bytes than the buffer holds, that uses extension types (which carry msgpackr's
 * records, structured clones and dates) or the reserved byte 0xc1, or that has trailing bytes.
 * Only then is it safe to hand to the decoder.
 */

/** Returns an error message, or undefined when the bytes are one well-formed, bounded value. */
export function scanMsgpack (buf: Uint8Array, maxDepth: number): string | undefined {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
  const end = buf.byteLength
  // pending[i] = elements still to read in the container at depth i+1
  const pending: number[] = []
  let pos = 0
  let remainingTop = 1
  while (remainingTop > 0 || pending.length > 0) {
    if (pending.length > 0 && pending[pending.length - 1] === 0) { pending.pop(); continue }
    if (pos >= end) return 'truncated MessagePack value'
    if (pending.length > 0) pending[pending.length - 1]-- ; else remainingTop--
    const b = buf[pos++]
    let skip = 0
    let children = -1
    if (b <= 0x7f || b >= 0xe0 || b === 0xc0 || b === 0xc2 || b === 0xc3) skip = 0
    else if (b >= 0x80 && b <= 0x8f) children = (b & 0x0f) * 2
    else if (b >= 0x90 && b <= 0x9f) children = b & 0x0f
    else if (b >= 0xa0 && b <= 0xbf) skip = b & 0x1f
    else {
      const need = SIZE_BYTES[b]
      if (need === undefined) return `MessagePack type 0x${b.toString(16)} is not allowed`
      if (pos + need.len > end) return 'truncated MessagePack value'
      const n = need.len === 0 ? 0 : need.len === 1 ? view.getUint8(pos) : need.len === 2 ? view.getUint16(pos) : view.getUint32(pos)
      pos += need.len
      if (need.kind === 'fixed') skip = need.fixed
      else if (need.kind === 'bytes') skip = n
      else children = need.kind === 'map' ? n * 2 : n
    }
    if (children >= 0) {
      if (pending.length >= maxDepth) return `MessagePack nesting deeper than ${maxDepth}`
      if (children > end - pos) return 'MessagePack container declares more elements than the frame holds'
      pending.push(children)
    } else {
      if (skip > end - pos) return 'MessagePack string or binary longer than the frame'
      pos += skip
    }
  }
  return pos === end ? undefined : 'trailing bytes after the MessagePack value'
}

interface SizeInfo { readonly len: 0 | 1 | 2 | 4, readonly kind: 'fixed' | 'bytes' | 'array' | 'map', readonly fixed: number }

const SIZE_BYTES: Readonly<Record<number, SizeInfo>> = Object.freeze({
  0xc4: { len: 1, kind: 'bytes', fixed: 0 },
  0xc5: { len: 2, kind: 'bytes', fixed: 0 },
  0xc6: { len: 4, kind: 'bytes', fixed: 0 },
  0xca: { len: 0, kind: 'fixed', fixed: 4 },
  0xcb: { len: 0, kind: 'fixed', fixed: 8 },
  0xcc: { len: 0, kind: 'fixed', fixed: 1 },
  0xcd: { len: 0, kind: 'fixed', fixed: 2 },
  0xce: { len: 0, kind: 'fixed', fixed: 4 },
  0xcf: { len: 0, kind: 'fixed', fixed: 8 },
  0xd0: { len: 0, kind: 'fixed', fixed: 1 },
  0xd1: { len: 0, kind: 'fixed', fixed: 2 },
  0xd2: { len: 0, kind: 'fixed', fixed: 4 },
  0xd3: { len: 0, kind: 'fixed', fixed: 8 },
  0xd9: { len: 1, kind: 'bytes', fixed: 0 },
  0xda: { len: 2, kind: 'bytes', fixed: 0 },
  0xdb: { len: 4, kind: 'bytes', fixed: 0 },
  0xdc: { len: 2, kind: 'array', fixed: 0 },
  0xdd: { len: 4, kind: 'array', fixed: 0 },
  0xde: { len: 2, kind: 'map', fixed: 0 },
  0xdf: { len: 4, kind: 'map', fixed: 0 }
})
