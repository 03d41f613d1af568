import assert from 'node:assert/strict'
import { test } from 'node:test'
import { parseAutocannon, parseWrk } from '../../bench/load.js'

const WRK = `Running 5s test @ http://127.0.0.1:18089/hello
  1 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     8.52ms   20.24ms 143.10ms   92.70%
    Req/Sec     1.68k     1.06k    3.14k    60.00%
  Latency Distribution
     50%   52.00us
     75%    5.85ms
     90%   19.10ms
     99%    1.16s
  1679 requests in 1.02s, 203.32KB read
  Socket errors: connect 0, read 2, write 1, timeout 4
  Non-2xx or 3xx responses: 9
Requests/sec:   1644.33
Transfer/sec:    199.12KB
`

test('reads rate, percentiles in every unit, and errors from wrk --latency', () => {
  const { p50Ms, p99Ms, ...rest } = parseWrk(WRK)
  assert.ok(Math.abs(p50Ms - 0.052) < 1e-9, `p50 ${p50Ms}`)
  assert.ok(Math.abs(p99Ms - 1160) < 1e-9, `p99 ${p99Ms}`)
  assert.deepEqual(rest, { requestsPerSec: 1644.33, requests: 1679, errors: 7, non2xx: 9 })
})

test('counts no errors when wrk prints no error lines', () => {
  const clean = WRK.split('\n').filter((l) => !/Socket errors|Non-2xx/.test(l)).join('\n')
  const result = parseWrk(clean)
  assert.equal(result.errors, 0)
  assert.equal(result.non2xx, 0)
})

test('rejects wrk output without a latency distribution', () => {
  const noLatency = WRK.split('\n').filter((l) => !/^\s+\d+%/.test(l)).join('\n')
  assert.throws(() => parseWrk(noLatency), /50% latency/)
})

test('reads autocannon --json, adding timeouts to errors', () => {
  const json = JSON.stringify({ errors: 1, timeouts: 2, non2xx: 3, latency: { p50: 1, p99: 13 }, requests: { average: 1082.5, total: 5412 } })
  assert.deepEqual(parseAutocannon(`progress noise\n${json}\n`), { requestsPerSec: 1082.5, p50Ms: 1, p99Ms: 13, requests: 5412, errors: 3, non2xx: 3 })
})

test('rejects autocannon JSON of another shape', () => {
  assert.throws(() => parseAutocannon('{"requests":{}}'), /unexpected JSON/)
})
