/**
 * `npm run bench`: outbridge side by side with a direct call and an OpenSSH reverse tunnel,
 * every process on 127.0.0.1, in one run so the figures compare. Prints one table and writes
 * the same as JSON to `bench/results/latest.json`. See BENCHMARKS.md for the method.
 */
import { availableParallelism, cpus, loadavg, release, totalmem } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { measureBackpressure } from './backpressure.js'
import type { BackpressureResult } from './backpressure.js'
import { findLoadGenerator } from './load.js'
import type { LoadGenerator, LoadGeneratorKind } from './load.js'
import { LATENCY_CONNECTIONS, THROUGHPUT_CONNECTIONS, measureRounds, warmUp } from './measure.js'
import type { MeasureOptions, PathRound } from './measure.js'
import { startPaths } from './paths.js'
import type { BenchSetup } from './paths.js'
import { killAllNow, stopAll } from './processes.js'
import { collectProductLog } from './product-log.js'
import { formatNotes, formatTable, writeReport } from './report.js'
import type { BenchReport } from './report.js'
import { watchRss } from './rss.js'
import type { RssRange } from './rss.js'
import { SSH_CIPHER } from './ssh-tunnel.js'
import { MIB } from './streaming.js'
import { checkTargets, rssKey, summarize } from './summary.js'

const HERE = import.meta.dirname
const REPO = join(HERE, '..', '..')

const USAGE = `usage: npm run bench -- [options]
  --rounds N           interleaved rounds per path (default 3)
  --duration S         seconds per load run (default 5)
  --quick              backpressure with 256 MiB read at 50 MiB/s (default: 1 GiB at 10 MiB/s, ~100 s)
  --full               the default backpressure run (kept for older scripts)
  --load-generator G   wrk or autocannon (default: wrk when installed)
  --no-ssh             leave out the ssh -R path
  --cpu-prof DIR       write V8 CPU profiles of the agent and the cloud into DIR
  --out FILE           JSON report (default bench/results/latest.json)`

interface Args {
  readonly rounds: number
  readonly durationSec: number
  /** Backpressure with 256 MiB at 50 MiB/s instead of 1 GiB at 10 MiB/s. */
  readonly quick: boolean
  readonly generator?: LoadGeneratorKind
  readonly noSsh: boolean
  readonly cpuProfDir?: string
  readonly out: string
}

function parse (argv: string[]): Args {
  const { values } = parseArgs({
    args: argv,
    options: {
      rounds: { type: 'string', default: '3' },
      duration: { type: 'string', default: '5' },
      quick: { type: 'boolean', default: false },
      full: { type: 'boolean', default: false },
      'load-generator': { type: 'string' },
      'no-ssh': { type: 'boolean', default: false },
      'cpu-prof': { type: 'string' },
      out: { type: 'string', default: join(REPO, 'bench', 'results', 'latest.json') },
      help: { type: 'boolean', default: false }
    }
  })
  const rounds = Number(values.rounds)
  const durationSec = Number(values.duration)
  const generator = values['load-generator']
  if (values.help === true) throw new UsageError('')
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 10) throw new UsageError('--rounds must be an integer from 1 to 10')
  if (!Number.isInteger(durationSec) || durationSec < 1 || durationSec > 30) throw new UsageError('--duration must be an integer from 1 to 30')
  if (generator !== undefined && generator !== 'wrk' && generator !== 'autocannon') throw new UsageError('--load-generator must be wrk or autocannon')
  return { rounds, durationSec, quick: values.quick === true && values.full !== true, generator, noSsh: values['no-ssh'] === true, cpuProfDir: values['cpu-prof'], out: values.out ?? '' }
}

class UsageError extends Error {}

function loadAverage (): number[] {
  return loadavg().map((n) => Math.round(n * 100) / 100)
}

function machine (loadAverageStart: readonly number[]): BenchReport['machine'] {
  return {
    nproc: availableParallelism(),
    memTotalGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    cpu: cpus()[0]?.model ?? 'unknown',
    node: process.version,
    kernel: release(),
    loadAverageStart,
    loadAverageEnd: loadAverage()
  }
}

function log (line: string): void {
  process.stdout.write(`${line}\n`)
}

function requireGenerator (only: LoadGeneratorKind | undefined): LoadGenerator {
  const generator = findLoadGenerator(REPO, only)
  if (generator !== undefined) return generator
  throw new Error(only === undefined
    ? 'neither wrk nor autocannon is installed: run bench/setup.sh (Debian wrk), or install autocannon'
    : `${only} is not installed`)
}

/** The pids whose memory is watched during the rounds, keyed by {@link rssKey}. */
function rssTargets (setup: BenchSetup): Record<string, number> {
  const pids: Record<string, number> = {}
  for (const p of setup.paths) {
    if (p.agentPid !== undefined) pids[rssKey(p.name, 'agent')] = p.agentPid
    if (p.cloudPid !== undefined) pids[rssKey(p.name, 'cloud')] = p.cloudPid
  }
  return pids
}

interface Findings {
  readonly setup: BenchSetup
  readonly options: MeasureOptions
  readonly rounds: readonly PathRound[]
  readonly peaks: Record<string, RssRange>
  readonly backpressure?: BackpressureResult
  readonly productLog: BenchReport['productLog']
}

function makeReport (args: Args, started: number, loadAverageStart: readonly number[], f: Findings): BenchReport {
  const summary = summarize(f.setup.paths, f.rounds, f.peaks)
  return {
    date: new Date(started).toISOString(),
    machine: machine(loadAverageStart),
    settings: {
      loadGenerator: f.options.generator.kind,
      rounds: args.rounds,
      durationSec: args.durationSec,
      connections: { throughput: THROUGHPUT_CONNECTIONS, latency: LATENCY_CONNECTIONS },
      downloadBytes: f.options.downloadBytes,
      uploadBytes: f.options.uploadBytes,
      sshCipher: SSH_CIPHER
    },
    summary,
    targets: checkTargets(summary),
    skipped: f.setup.skipped,
    backpressure: f.backpressure,
    productLog: f.productLog,
    rounds: f.rounds,
    elapsedSec: Math.round((Date.now() - started) / 100) / 10
  }
}

async function run (args: Args, setupRef: { setup?: BenchSetup }, signal: AbortSignal): Promise<void> {
  const started = Date.now()
  const loadAverageStart = loadAverage()
  const generator = requireGenerator(args.generator)
  log(`outbridge bench: starting target, mock cloud, agent${args.noSsh ? '' : ' and ssh tunnel'} (load: ${generator.kind})`)
  const setup = await startPaths({ cliPath: join(REPO, 'dist', 'bin', 'outbridge.js'), targetPath: join(HERE, 'target-process.js'), cpuProfDir: args.cpuProfDir, skipSsh: args.noSsh })
  setupRef.setup = setup
  const productLog = { agent: collectProductLog(setup.agent), cloud: collectProductLog(setup.cloud) }
  for (const [path, reason] of Object.entries(setup.skipped)) log(`skipping ${path}: ${reason}`)
  const options: MeasureOptions = { rounds: args.rounds, durationSec: args.durationSec, downloadBytes: 200 * MIB, uploadBytes: 64 * MIB, generator, log, signal }
  const rss = watchRss(rssTargets(setup))
  await warmUp(setup.paths, options)
  const rounds = await measureRounds(setup.paths, options)
  const peaks = rss.stop()
  if (signal.aborted) return
  const outbridge = setup.paths.find((p) => p.name === 'outbridge')
  const [bpBytes, bpRate] = args.quick ? [256 * MIB, 50 * MIB] : [1024 * MIB, 10 * MIB]
  log(`backpressure: ${bpBytes / MIB} MiB through outbridge, reader throttled to ${bpRate / MIB} MiB/s`)
  const backpressure = outbridge === undefined ? undefined : await measureBackpressure(outbridge, bpBytes, bpRate)
  if (signal.aborted) return
  const report = makeReport(args, started, loadAverageStart, { setup, options, rounds, peaks, backpressure, productLog })
  writeReport(args.out, report)
  log(`\n${formatTable(report.summary)}\n\n${formatNotes(report)}`)
  log(`load average (1/5/15 min) at start ${loadAverageStart.join(' ')}, at end ${report.machine.loadAverageEnd.join(' ')} on ${report.machine.nproc} cores`)
  log(`\nmedians of ${args.rounds} rounds; ratios are path / reference. JSON: ${args.out} (${report.elapsedSec} s)`)
}

async function shutdown (setupRef: { setup?: BenchSetup }): Promise<void> {
  await stopAll()
  setupRef.setup?.cleanup()
}

async function main (): Promise<void> {
  let args: Args
  try {
    args = parse(process.argv.slice(2))
  } catch (err) {
    const help = err instanceof UsageError && err.message === ''
    if (help) process.stdout.write(`${USAGE}\n`)
    else process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n${USAGE}\n`)
    process.exitCode = help ? 0 : 2
    return
  }
  const setupRef: { setup?: BenchSetup } = {}
  const abort = new AbortController()
  process.once('exit', killAllNow)
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      log(`\n${signal}: stopping everything the bench started; no report is written`)
      abort.abort()
      shutdown(setupRef).finally(() => process.exit(130))
    })
  }
  try {
    await run(args, setupRef, abort.signal)
  } catch (err) {
    if (!abort.signal.aborted) process.stderr.write(`outbridge bench: ${err instanceof Error ? err.message : String(err)}\n`)
    process.exitCode = 1
  } finally {
    await shutdown(setupRef)
  }
}

await main()
