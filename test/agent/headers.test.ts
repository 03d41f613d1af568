import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  DEFAULT_HEADER_LIMITS, isValidHeaderName, isValidHeaderValue, requestHeadersForTarget, responseHeadersForCloud
} from '../../agent/headers.js'

const TARGET = { hostHeader: 'db.corp.example:8080' }

test('the default limits are 100 headers and 64 KiB', () => {
  assert.deepEqual(DEFAULT_HEADER_LIMITS, { maxCount: 100, maxBytes: 65_536 })
  assert.ok(Object.isFrozen(DEFAULT_HEADER_LIMITS))
})

test('isValidHeaderName accepts RFC 9110 tokens only', () => {
  for (const name of ['a', 'Content-Type', 'x-custom_1', "!#$%&'*+-.^_`|~", 'X-B3-TraceId']) {
    assert.equal(isValidHeaderName(name), true, name)
  }
  for (const name of ['', 'a b', 'a:b', 'a\r', 'a\n', 'a\0', 'ä', '(x)', 'a,b', 'a/b', 'a"b', 'a\tb', '[x]', '{x}', 'a=b', 'a;b', 'a@b', 'a?b', '\\', '\x7f']) {
    assert.equal(isValidHeaderName(name), false, JSON.stringify(name))
  }
})

test('isValidHeaderValue refuses CR, LF, NUL and every control byte but HTAB', () => {
  for (const value of ['', 'text/html; charset=utf-8', 'a\tb', ' padded ', 'caf\xe9', '\x80\xff', '"quoted", x=y']) {
    assert.equal(isValidHeaderValue(value), true, JSON.stringify(value))
  }
  for (const value of ['a\rb', 'a\nb', 'a\r\nX-Injected: 1', 'a\0', '\x01', '\x1b[31m', '\x1f', '\x7f', 'Ā', '€', '😀']) {
    assert.equal(isValidHeaderValue(value), false, JSON.stringify(value))
  }
})

test('requestHeadersForTarget: the filtering table', () => {
  const cases: Array<[string, string[], string[]]> = [
    ['empty', [], ['host', 'db.corp.example:8080']],
    ['names lower-cased, order and repeats kept',
      ['Accept', '*/*', 'X-Tag', 'a', 'x-tag', 'b'],
      ['host', 'db.corp.example:8080', 'accept', '*/*', 'x-tag', 'a', 'x-tag', 'b']],
    ['caller Host replaced',
      ['Host', 'evil.example', 'HOST', 'other', 'accept', '*/*'],
      ['host', 'db.corp.example:8080', 'accept', '*/*']],
    ['hop-by-hop dropped',
      ['Connection', 'keep-alive', 'Keep-Alive', 'timeout=5', 'TE', 'trailers', 'Trailer', 'x-sum',
        'Transfer-Encoding', 'chunked', 'Upgrade', 'websocket', 'HTTP2-Settings', 'AAMAAABkAAQAAP__', 'x-ok', '1'],
      ['host', 'db.corp.example:8080', 'x-ok', '1']],
    ['every Proxy-* dropped',
      ['Proxy-Authorization', 'Basic c2VjcmV0', 'Proxy-Connection', 'keep-alive', 'proxy-foo', 'x', 'x-ok', '1'],
      ['host', 'db.corp.example:8080', 'x-ok', '1']],
    ['headers named by Connection dropped, any case and spacing',
      ['Connection', 'X-Secret , x-other', 'connection', 'CLOSE', 'x-secret', 's', 'X-Other', 'o', 'close', 'c', 'x-ok', '1'],
      ['host', 'db.corp.example:8080', 'x-ok', '1']],
    ['Expect dropped', ['Expect', '100-continue', 'x-ok', '1'], ['host', 'db.corp.example:8080', 'x-ok', '1']],
    ['content-length kept', ['Content-Length', '12', 'content-type', 'text/plain'],
      ['host', 'db.corp.example:8080', 'content-length', '12', 'content-type', 'text/plain']],
    ['equal content-length repeats collapse', ['content-length', '12', 'Content-Length', '12'],
      ['host', 'db.corp.example:8080', 'content-length', '12']],
    ['values kept byte for byte (HTAB, obs-text, spaces)', ['x-v', ' a\tb \xe9 '],
      ['host', 'db.corp.example:8080', 'x-v', ' a\tb \xe9 ']]
  ]
  for (const [label, input, expected] of cases) assert.deepEqual(requestHeadersForTarget(input, TARGET), expected, label)
})

test('requestHeadersForTarget: extra pairs replace caller headers of the same name', () => {
  const out = requestHeadersForTarget(
    ['Authorization', 'Bearer caller', 'accept', '*/*', 'AUTHORIZATION', 'Basic x', 'x-api-key', 'k1'],
    TARGET,
    ['Authorization', 'Bearer bridge', 'X-Api-Key', 'k2']
  )
  assert.deepEqual(out, ['host', 'db.corp.example:8080', 'accept', '*/*', 'authorization', 'Bearer bridge', 'x-api-key', 'k2'])
})

test('requestHeadersForTarget: the BAD_REQUEST table, never naming a value', () => {
  const secret = 'Bearer s3cr3t'
  const cases: Array<[string, string[], string[]?]> = [
    ['odd length', ['accept']],
    ['odd length with more', ['accept', '*/*', 'x']],
    ['empty name', ['', 'v']],
    ['name with space', ['bad name', secret]],
    ['name with colon', ['x:y', secret]],
    ['name with CRLF', ['x\r\ny', secret]],
    ['value with CR', ['authorization', `${secret}\r`]],
    ['value with LF', ['authorization', `${secret}\nx-injected: 1`]],
    ['value with NUL', ['authorization', `${secret}\0`]],
    ['value with ESC', ['authorization', `${secret}\x1b`]],
    ['value with DEL', ['authorization', `${secret}\x7f`]],
    ['value above 0xFF', ['authorization', `${secret}€`]],
    ['non-numeric content-length', ['content-length', '12abc']],
    ['negative content-length', ['content-length', '-1']],
    ['content-length list', ['content-length', '12, 12']],
    ['conflicting content-length', ['content-length', '12', 'content-length', '13']],
    ['invalid extra name', [], ['bad name', secret]],
    ['invalid extra value', [], ['authorization', `${secret}\r\n`]],
    ['odd extra', [], ['authorization']],
    ['extra Host', [], ['Host', 'evil.example']],
    ['extra hop-by-hop', [], ['Transfer-Encoding', 'chunked']],
    ['extra Proxy-*', [], ['Proxy-Authorization', secret]]
  ]
  for (const [label, flat, extra] of cases) {
    assert.throws(() => requestHeadersForTarget(flat, TARGET, extra), (err: unknown) => {
      assert.equal((err as { code?: unknown }).code, 'BAD_REQUEST', label)
      assert.ok(!(err as Error).message.includes('s3cr3t'), `${label}: message leaks the value`)
      return true
    }, label)
  }
})

test('requestHeadersForTarget: count and size limits, default and given', () => {
  const many = (n: number): string[] => Array.from({ length: n }, (_, i) => [`x-h${i}`, 'v']).flat()
  assert.equal(requestHeadersForTarget(many(100), TARGET).length, 202)
  assert.throws(() => requestHeadersForTarget(many(101), TARGET), { code: 'BAD_REQUEST' })
  const big = (bytes: number): string[] => ['x-big', 'v'.repeat(bytes - 'x-big'.length)]
  assert.equal(requestHeadersForTarget(big(65_536), TARGET).length, 4)
  assert.throws(() => requestHeadersForTarget(big(65_537), TARGET), { code: 'BAD_REQUEST' })
  const limits = { maxCount: 2, maxBytes: 20 }
  assert.equal(requestHeadersForTarget(many(2), TARGET, [], limits).length, 6)
  assert.throws(() => requestHeadersForTarget(many(3), TARGET, [], limits), { code: 'BAD_REQUEST' })
  assert.equal(requestHeadersForTarget(big(20), TARGET, [], limits).length, 4)
  assert.throws(() => requestHeadersForTarget(big(21), TARGET, [], limits), { code: 'BAD_REQUEST' })
  // Dropped headers count too: the limits guard the work done on the caller's input.
  assert.throws(() => requestHeadersForTarget(['connection', 'x'.repeat(30)], TARGET, [], limits), { code: 'BAD_REQUEST' })
})

test('responseHeadersForCloud: the filtering table', () => {
  const cases: Array<[string, string[], string[]]> = [
    ['empty', [], []],
    ['names lower-cased, set-cookie repeats kept in order',
      ['Content-Type', 'text/html', 'Set-Cookie', 'a=1', 'X-Tag', 'x', 'SET-COOKIE', 'b=2', 'set-cookie', 'c=3'],
      ['content-type', 'text/html', 'set-cookie', 'a=1', 'x-tag', 'x', 'set-cookie', 'b=2', 'set-cookie', 'c=3']],
    ['hop-by-hop dropped, content-length kept',
      ['Connection', 'keep-alive', 'Keep-Alive', 'timeout=5', 'Transfer-Encoding', 'chunked', 'Trailer', 'x-sum',
        'Upgrade', 'h2c', 'TE', 'trailers', 'Proxy-Authenticate', 'Basic', 'Proxy-Connection', 'close',
        'Content-Length', '5'],
      ['content-length', '5']],
    ['headers named by Connection dropped', ['Connection', 'x-internal', 'X-Internal', 'i', 'x-ok', '1'], ['x-ok', '1']],
    ['host and expect are not response headers to drop', ['Host', 'h', 'Expect', 'e'], ['host', 'h', 'expect', 'e']]
  ]
  for (const [label, input, expected] of cases) assert.deepEqual(responseHeadersForCloud(input), expected, label)
  assert.throws(() => responseHeadersForCloud(['content-type']), { code: 'INTERNAL_ERROR' })
})
