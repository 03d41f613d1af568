import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { PathRound } from '../../bench/measure.js'
import type { BenchPath, PathName } from '../../bench/paths.js'
import { formatTable } from '../../bench/report.js'
import { MIB } from '../../bench/streaming.js'
import { checkTargets, median, rssKey, summarize } from '../../bench/summary.js'

const PATHS: BenchPath[] = [
  { name: 'direct', baseUrl: 'http://127.0.0.1:1' },
  { name: 'outbridge', baseUrl: 'http://127.0.0.1:2/relay/b/http/127.0.0.1:1', agentPid: 10, cloudPid: 11 },
  { name: 'ssh -R', baseUrl: 'http://127.0.0.1:3', agentPid: 20, cloudPid: 21 }
]

function round (path: PathName, n: number, reqPerSec: number, p50Ms: number, failures: string[] = []): PathRound {
  const load = { requestsPerSec: reqPerSec, p50Ms, p99Ms: p50Ms * 10, requests: 1, errors: 0, non2xx: 0 }
  const transfer = { bytes: MIB, seconds: 1, mibPerSec: reqPerSec / 100 }
  return { round: n, path, throughput: load, latency: load, download: transfer, upload: transfer, failures }
}

test('median of odd and even counts, skipping missing values', () => {
  assert.equal(median([3, undefined, 1, 2]), 2)
  assert.equal(median([4, 1, 3, 2]), 2.5)
  assert.equal(median([undefined]), undefined)
})

test('summarizes medians, peaks and ratios to direct and ssh', () => {
  const rounds = [
    round('direct', 1, 20_000, 0.1), round('outbridge', 1, 9_000, 0.4), round('ssh -R', 1, 10_000, 0.3),
    round('direct', 2, 22_000, 0.1), round('outbridge', 2, 11_000, 0.6, ['upload: boom']), round('ssh -R', 2, 10_000, 0.3)
  ]
  const peaks = { [rssKey('outbridge', 'agent')]: { first: 40 * MIB, min: MIB, max: 50 * MIB, samples: 3 }, [rssKey('outbridge', 'cloud')]: { first: 30 * MIB, min: MIB, max: 70 * MIB, samples: 3 } }
  const cpu = (agentPct: number): PathRound['throughputCpu'] => ({ agentPct, cloudPct: 10, agentUsPerRequest: agentPct * 2, cloudUsPerRequest: 20 })
  const [ob1, ob2] = rounds.filter((r) => r.path === 'outbridge')
  if (ob1 !== undefined) ob1.throughputCpu = cpu(40)
  if (ob2 !== undefined) ob2.throughputCpu = cpu(60)
  const [direct, ob, ssh] = summarize(PATHS, rounds, peaks)
  assert.deepEqual(ob?.cpuAt64, { agentPct: 50, cloudPct: 10, agentUsPerRequest: 100, cloudUsPerRequest: 20 })
  assert.equal(direct?.cpuAt64, undefined)
  assert.equal(direct?.figures.reqPerSec, 21_000)
  assert.equal(direct?.vsDirect, undefined)
  assert.equal(ob?.figures.reqPerSec, 10_000)
  assert.equal(ob?.figures.agentRssMiB, 50)
  assert.equal(ob?.figures.cloudRssMiB, 70)
  assert.deepEqual(ob?.rssStartMiB, { agent: 40, cloud: 30 })
  assert.equal(ssh?.rssStartMiB, undefined)
  assert.equal(ob?.vsSsh?.reqPerSec, 1)
  assert.ok(Math.abs((ob?.p50AddedMs ?? 0) - 0.4) < 1e-9)
  assert.ok(Math.abs((ob?.vsDirect?.reqPerSec ?? 0) - 10_000 / 21_000) < 1e-9)
  assert.equal(ob?.failures, 1)
  assert.equal(ssh?.vsSsh, undefined)
  assert.equal(ssh?.figures.agentRssMiB, undefined)
})

test('checks the targets of issue #7 against ssh, and none without ssh', () => {
  const rounds = [round('direct', 1, 20_000, 0.1), round('outbridge', 1, 12_000, 1.5), round('ssh -R', 1, 10_000, 0.3)]
  const checks = checkTargets(summarize(PATHS, rounds, {}))
  assert.deepEqual(checks.map((c) => [c.target, c.met]), [
    ['small req/s >= ssh', true],
    ['p99 ms at 64 connections <= ssh', false],
    ['p50 ms added over direct at 1 connection <= 1', false],
    ['download MiB/s >= ssh', true],
    ['upload MiB/s >= ssh', true]
  ])
  assert.deepEqual(checkTargets(summarize(PATHS.slice(0, 2), rounds, {})), [])
})

test('the table has one row per path and one per ratio, with aligned columns', () => {
  const rounds = [round('direct', 1, 20_000, 0.1), round('outbridge', 1, 12_000, 0.5), round('ssh -R', 1, 10_000, 0.3)]
  const lines = formatTable(summarize(PATHS, rounds, {})).split('\n')
  assert.equal(lines.length, 2 + 3 + 4)
  assert.equal(new Set(lines.map((l) => l.length)).size, 1)
  assert.match(lines[2] ?? '', /^\| direct +\| +20,000 \|/)
  assert.match(lines.find((l) => l.startsWith('|   / direct')) ?? '', /0\.60x/)
  assert.match(lines.join('\n'), /5\.00x \(\+0\.40 ms\)/)
})
