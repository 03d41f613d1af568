/**
 * Builds a bridge's JobClient from its options and the pieces it shares with Call-URL traffic
 * (target policy, executor, credentials). Shared by `agent` (bridge-factory.ts) and `run-once`.
 */
import type { Logger } from '../logger.js'
import type { AgentOptions } from '../option-types.js'
import { OptionsError } from '../option-sources.js'
import type { JobFetchContext } from './job-fetch.js'
import { JobClient } from './job-client.js'
import { Outbox } from './outbox.js'

/** Largest page (or answer) a job accepts, in bytes, below `--max-body-bytes`. @default 16 MiB */
export const MAX_JOB_PAGE_BYTES = 16 * 1024 * 1024

/** Jobs a bridge runs at once. */
export const MAX_CONCURRENT_JOBS = 2

/**
 * Opens the outbox in `--data-dir` and creates the client over it.
 * @throws OptionsError naming `--data-dir` when the outbox cannot be opened
 */
export async function openJobClient (
  options: Pick<AgentOptions, 'dataDir' | 'name' | 'requestTimeout' | 'maxBodyBytes'>,
  log: Logger,
  shared: Pick<JobFetchContext, 'policy' | 'executor' | 'credentialHeader'>
): Promise<JobClient> {
  let outbox: Outbox
  try {
    outbox = await Outbox.open(options.dataDir)
  } catch (err) {
    const code = (err as { code?: unknown }).code
    throw new OptionsError('--data-dir', `cannot open the job outbox in ${options.dataDir} (${typeof code === 'string' ? code : (err as Error).message})`)
  }
  return await JobClient.create({
    outbox,
    log,
    bridge: options.name,
    maxConcurrent: MAX_CONCURRENT_JOBS,
    fetch: {
      ...shared,
      defaultTimeout: options.requestTimeout,
      maxBodyBytes: Math.min(options.maxBodyBytes, MAX_JOB_PAGE_BYTES)
    }
  })
}
