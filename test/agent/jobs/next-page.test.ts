import assert from 'node:assert/strict'
import { test } from 'node:test'
import { OutbridgeError } from '../../../protocol/errors.js'
import { nextFromField, nextFromLink, resolveNext } from '../../../agent/jobs/next-page.js'

test('nextFromLink finds rel="next" among links, quoted or not, in any case and position', () => {
  const cases: ReadonlyArray<readonly [string[], string | undefined]> = [
    [['link', '</pages?page=2>; rel="next"'], '/pages?page=2'],
    [['link', '<https://h/a?page=1>; rel="prev", <https://h/a?page=3>; rel="next"'], 'https://h/a?page=3'],
    [['Link', '<https://h/x>; rel=next; title="n"'], 'https://h/x'],
    [['link', '<https://h/x>; rel="last next"'], 'https://h/x'],
    [['link', '<https://h/p>; rel="prev"', 'link', '<https://h/n>; rel="NEXT"'], 'https://h/n'],
    [['link', '<https://h/p>; rel="prev"'], undefined],
    [['link', '<>; rel="next"'], undefined],
    [['content-type', 'application/json'], undefined]
  ]
  for (const [headers, expected] of cases) assert.equal(nextFromLink(headers), expected, headers.join(': '))
})

test('nextFromField reads a dotted field; null, absent or empty ends the pull', () => {
  const page = (value: unknown): Buffer => Buffer.from(JSON.stringify(value))
  assert.equal(nextFromField(page({ next: '/p2' }), 'next'), '/p2')
  assert.equal(nextFromField(page({ meta: { next: 'https://h/p3' } }), 'meta.next'), 'https://h/p3')
  for (const last of [{ next: null }, {}, { next: '' }, []]) assert.equal(nextFromField(page(last), 'next'), undefined)
  for (const bad of [Buffer.from('<html>'), page({ next: 3 })]) {
    assert.throws(() => nextFromField(bad, 'next'), (err: unknown) => err instanceof OutbridgeError && err.code === 'BAD_REQUEST')
  }
})

test('resolveNext resolves against the page and stays on the connection\'s origin', () => {
  assert.equal(resolveNext('/p?page=2', 'http://10.0.0.5:8080/api/p?page=1', 'http://10.0.0.5:8080/api'), 'http://10.0.0.5:8080/p?page=2')
  assert.equal(resolveNext('?page=3#top', 'http://h/api/p?page=2', 'http://h'), 'http://h/api/p?page=3')
  for (const next of ['http://evil.example/p', 'https://h/p', 'http://h:81/p', '//other/p']) {
    assert.throws(() => resolveNext(next, 'http://h/p', 'http://h'), (err: unknown) => err instanceof OutbridgeError && err.code === 'FORBIDDEN_TARGET', next)
  }
})
