import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parseHost, parseTargetUrl } from '../../agent/target-url.js'
import type { Host } from '../../agent/target-url.js'

const name = (n: string): Host => ({ kind: 'name', name: n })
const v4 = (address: string): Host => ({ kind: 'ip', ip: { address, family: 4 } })
const v6 = (address: string): Host => ({ kind: 'ip', ip: { address, family: 6 } })

test('parseHost normalises every spelling the URL parser accepts', () => {
  const cases: Array<[string, Host]> = [
    ['Example.COM', name('example.com')],
    ['localhost.', name('localhost')],
    ['metadata.google.internal.', name('metadata.google.internal')],
    ['a_b-c.corp', name('a_b-c.corp')],
    ['bücher.example', name('xn--bcher-kva.example')],
    ['2130706433', v4('127.0.0.1')],
    ['0177.0.0.1', v4('127.0.0.1')],
    ['0x7f.1', v4('127.0.0.1')],
    ['127.1', v4('127.0.0.1')],
    ['0xA9FEA9FE', v4('169.254.169.254')],
    ['0251.0376.0251.0376', v4('169.254.169.254')],
    ['169.254.43518', v4('169.254.169.254')],
    ['1.2.3.4.', v4('1.2.3.4')],
    ['0', v4('0.0.0.0')],
    ['[::1]', v6('::1')],
    ['[FD00::0001]', v6('fd00::1')],
    ['[::ffff:169.254.169.254]', v4('169.254.169.254')],
    ['[::ffff:a9fe:a9fe]', v4('169.254.169.254')]
  ]
  for (const [text, expected] of cases) assert.deepEqual(parseHost(text), expected, text)
})

test('parseHost refuses what is no host', () => {
  const cases = ['', '.', 'a..b', 'localhost..', 'a b', 'a/b', 'a?b', 'a#b', 'a@b', 'a\\b', 'a:80',
    '*.corp', 'a*b', '%31%32%37.0.0.1', '[fe80::1%eth0]', '[1.2.3.4]', '[::1', 'x'.repeat(64),
    `${'a.'.repeat(127)}ab`, '1.2.3.4.5', '256.0.0.1', 'a\tb']
  for (const text of cases) assert.equal(parseHost(text), undefined, JSON.stringify(text))
})

test('parseTargetUrl normalises the URL, keeps path and query, drops the fragment', () => {
  const cases: Array<[string, { hostname: string, port: number, hostHeader: string, path: string, href: string }]> = [
    ['http://10.0.0.5:8080/api/items?page=2#top',
      { hostname: '10.0.0.5', port: 8080, hostHeader: '10.0.0.5:8080', path: '/api/items?page=2', href: 'http://10.0.0.5:8080/api/items?page=2' }],
    ['HTTPS://Example.COM.:443/A?b=C',
      { hostname: 'example.com', port: 443, hostHeader: 'example.com', path: '/A?b=C', href: 'https://example.com/A?b=C' }],
    ['http://localhost.',
      { hostname: 'localhost', port: 80, hostHeader: 'localhost', path: '/', href: 'http://localhost/' }],
    ['http://2130706433/',
      { hostname: '127.0.0.1', port: 80, hostHeader: '127.0.0.1', path: '/', href: 'http://127.0.0.1/' }],
    ['http://0x7f.1:81/x',
      { hostname: '127.0.0.1', port: 81, hostHeader: '127.0.0.1:81', path: '/x', href: 'http://127.0.0.1:81/x' }],
    ['http://%31%32%37.0.0.1/',
      { hostname: '127.0.0.1', port: 80, hostHeader: '127.0.0.1', path: '/', href: 'http://127.0.0.1/' }],
    ['https://[FD00::1]:8443/p',
      { hostname: 'fd00::1', port: 8443, hostHeader: '[fd00::1]:8443', path: '/p', href: 'https://[fd00::1]:8443/p' }],
    ['http://[::ffff:169.254.169.254]/',
      { hostname: '169.254.169.254', port: 80, hostHeader: '[::ffff:a9fe:a9fe]', path: '/', href: 'http://[::ffff:a9fe:a9fe]/' }],
    ['http://h/a%20b?q=%0A',
      { hostname: 'h', port: 80, hostHeader: 'h', path: '/a%20b?q=%0A', href: 'http://h/a%20b?q=%0A' }],
    ['http://h:80/',
      { hostname: 'h', port: 80, hostHeader: 'h', path: '/', href: 'http://h/' }]
  ]
  for (const [raw, expected] of cases) {
    const t = parseTargetUrl(raw)
    assert.deepEqual({ hostname: t.hostname, port: t.port, hostHeader: t.hostHeader, path: t.path, href: t.url.href }, expected, raw)
  }
  assert.equal(parseTargetUrl('https://h/').scheme, 'https:')
  assert.equal(parseTargetUrl('http://h/').scheme, 'http:')
})

test('parseTargetUrl refuses bad and ambiguous URLs with BAD_REQUEST', () => {
  const cases = [
    '', 'not a url', '/relative', '//host/path', 'ftp://h/', 'file:///etc/passwd', 'ws://h/', 'javascript:alert(1)',
    'http:h/', 'http:/h/', 'http:///h/', 'http:\\\\h/', 'http://', 'http://?x', 'http://#x',
    'http://user@h/', 'http://user:pw@h/', 'http://@h/', 'http://:@h/', 'http://h@evil/',
    'http://h\\@evil/', 'http://h/\\x', 'http://h/a b', ' http://h/', 'http://h/\t', 'http://h\t/', 'http://h/\r\nx: y',
    'http://h/\n', 'http://h/\0', 'http://h/\x7f', 'http://h/\x1b',
    'http://h:0/', 'http://h:65536/', 'http://h:-1/', 'http://h:x/',
    'http://[fe80::1%25eth0]/', 'http://a..b/', 'http://*.corp/', 'http://256.1.1.1/', 'http://[1.2.3.4]/'
  ]
  for (const raw of cases) {
    assert.throws(() => parseTargetUrl(raw), { code: 'BAD_REQUEST' }, JSON.stringify(raw))
  }
})
