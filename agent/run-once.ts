/**
 * `outbridge run-once --frequency F [--job NAME]`: cron mode. Opens the job outbox, connects
 * once, first delivers whatever an earlier run left undelivered, asks the cloud for the due
 * jobs of frequency F (a JOB_POLL), runs them like the agent would (same target rules,
 * executor, credentials, outbox), waits a bounded time for the cloud to acknowledge every
 * result, prints one line per job on stdout and resolves with the exit code:
 * 0 all succeeded and delivered · 1 any failed or not delivered (it stays in the outbox for the
 * next run) · 2 bad configuration · 3 credentials rejected · 4 cloud unreachable or lost.
 */
import { setTimeout as delay } from 'node:timers/promises'
import { DEFAULT_LIMITS } from '../protocol/version.js'
import { CredentialStore } from './credentials.js'
import { createExecutor } from './executor.js'
import type { FinishedRun, JobClient, RunInfo } from './jobs/job-client.js'
import { openJobClient } from './jobs/job-setup.js'
import { openOnceLink } from './jobs/once-link.js'
import { createLogger } from './logger.js'
import type { AgentOptions, ConnectionOptions } from './option-types.js'
import { TargetPolicy } from './policy.js'
import { EXIT } from './test-connection.js'

export type Frequency = 'hourly' | 'daily' | 'weekly' | 'monthly'

/** What a cron run needs: the connection, the agent's target rules and limits, which jobs. */
export type RunOnceSettings = ConnectionOptions & Pick<AgentOptions, 'allow' | 'requestTimeout' | 'maxBodyBytes'> & {
  readonly frequency: Frequency
  readonly job?: string
}

/** How long to wait for the acknowledgement of every result once the jobs are done, in ms. */
export const ACK_WAIT = 30_000

const PROGRESS_EVENTS = ['runner-ended', 'delivered', 'settled'] as const

/** Resolves once `done()` holds, checked whenever `client` reports progress. */
function until (client: JobClient, done: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const check = (): void => {
      if (!done()) return
      for (const event of PROGRESS_EVENTS) client.off(event, check)
      resolve()
    }
    for (const event of PROGRESS_EVENTS) client.on(event, check)
    check()
  })
}

function describe (run: FinishedRun, delivered: boolean): string {
  const { summary: s } = run
  const where = `${run.name} (job ${run.job}, run ${run.run})`
  const why = s.failure === undefined
    ? ''
    : `: step ${s.failure.step + 1} "${s.failure.name}" ${s.failure.status !== undefined ? `answered ${s.failure.status}` : `failed with ${s.failure.code ?? 'INTERNAL_ERROR'}`}${s.failure.message === '' ? '' : ` (${s.failure.message})`}`
  const delivery = delivered ? 'delivered' : 'not delivered yet, kept in the outbox'
  return `${s.state} ${where}${why}; ${s.steps} step(s), ${s.pages} page(s), ${s.durationMs} ms; ${delivery}\n`
}

/** Cron mode: runs the due sync jobs of one frequency, delivers the results; resolves with the exit code. */
export async function runOnce (options: RunOnceSettings, out: NodeJS.WritableStream): Promise<number> {
  const log = createLogger(options.logLevel, { destination: process.stderr })
  const policy = new TargetPolicy(options.allow)
  const executor = createExecutor({ connectTimeout: 10_000, maxHeaderSize: 64 * 1024 })
  let store: CredentialStore | undefined
  const credentialHeader = async (name: string): Promise<readonly [string, string] | undefined> => {
    store ??= await CredentialStore.open(options.dataDir)
    return store.headerFor(name)
  }
  const client = await openJobClient(options, log, { policy, executor, credentialHeader })
  const finished: FinishedRun[] = []
  const delivered = new Map<string, RunInfo>()
  client.on('finished', (run: FinishedRun) => finished.push(run))
  client.on('delivered', (run: RunInfo) => delivered.set(`${run.run}@${run.job}`, run))
  const limits = { ...DEFAULT_LIMITS, maxBodyBytes: options.maxBodyBytes }
  const streamContext = { policy, executor, credentialHeader, receiveWindow: limits.initialWindow, maxBodyBytes: options.maxBodyBytes, defaultTimeout: options.requestTimeout, followRedirects: false }
  try {
    const link = await openOnceLink(options, limits, streamContext, client)
    if (!link.ok) {
      out.write(`failed: ${link.failure.kind === 'rejected' ? 'credentials rejected' : link.failure.kind}: ${link.failure.message}\n`)
      return link.failure.kind === 'rejected' ? EXIT.rejected : EXIT.unreachable
    }
    let lostWhy: string | undefined
    void link.lost.then((why) => { lostWhy = why })
    const offered = await client.poll(options.frequency, options.job)
    if (offered === undefined) {
      out.write(`failed: the connection to the cloud was lost before it answered (${lostWhy ?? 'closed'})\n`)
      return EXIT.unreachable
    }
    await until(client, () => client.executing === 0)
    const ackWait = new AbortController()
    await Promise.race([until(client, () => client.pending === 0), link.lost, delay(ACK_WAIT, undefined, { signal: ackWait.signal })])
    ackWait.abort()
    link.close()
    if (offered === 0 && finished.length === 0) out.write(`no due ${options.frequency} jobs${options.job === undefined ? '' : ` named "${options.job}"`}\n`)
    let code: number = EXIT.ok
    for (const run of finished) {
      const key = `${run.run}@${run.job}`
      out.write(describe(run, delivered.has(key)))
      if (run.summary.state !== 'succeeded' || !delivered.has(key)) code = 1
      delivered.delete(key)
    }
    for (const run of delivered.values()) out.write(`delivered ${run.name} (job ${run.job}, run ${run.run}), finished by an earlier run\n`)
    return code
  } finally {
    await client.close()
    await executor.close()
  }
}
