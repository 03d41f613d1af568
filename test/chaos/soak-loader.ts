/**
 * The soak's steady load: a few workers making 1 KiB relay calls one after another, each checked
 * against the bytes of its own seed. A call that found no bridge (503 BRIDGE_UNAVAILABLE, never
 * sent to one) is retried after a short wait; any other failure is recorded.
 */
import { createHash } from 'node:crypto'
import { setTimeout as delay } from 'node:timers/promises'
import { expectedSha256 } from '../support/target-server.js'
import type { SampleTarget } from '../support/target-server.js'
import type { Cloud } from '../e2e/harness.js'
import { waitFor } from '../e2e/harness.js'
import { describe, isError, outcomeOf, relayUrl } from './calls.js'

const ANSWER_BYTES = 1024
/** Wait before retrying a call that found no bridge, in ms. */
const RETRY_AFTER_MS = 20

/** A running load. */
export interface Loader {
  /** Calls that completed correctly. */
  readonly done: number
  /** Attempts that found no bridge and were made again. */
  readonly retried: number
  /** Calls that failed otherwise, described. */
  readonly failures: readonly string[]
  /** Stops starting calls; resolves once none is in flight. */
  pause (): Promise<void>
  resume (): void
  /** Stops for good; resolves once no call is in flight. */
  stop (): Promise<void>
}

/** Starts `concurrency` workers calling `/bytes` of `target` through any bridge of `cloud`. @default concurrency 8 */
export function startLoader (cloud: Cloud, target: SampleTarget, concurrency = 8): Loader {
  let next = 0
  let done = 0
  let retried = 0
  let busy = 0
  let paused = false
  let stopped = false
  const failures: string[] = []

  async function call (seed: string): Promise<void> {
    for (;;) {
      const outcome = await outcomeOf(relayUrl(cloud, target.port, `/bytes?n=${ANSWER_BYTES}&seed=${seed}`))
      if (isError(outcome, 503, 'BRIDGE_UNAVAILABLE')) {
        retried++
        await delay(RETRY_AFTER_MS)
        continue
      }
      const sha256 = outcome.body === undefined ? '' : createHash('sha256').update(outcome.body).digest('hex')
      if (outcome.status === 200 && sha256 === expectedSha256(ANSWER_BYTES, seed)) done++
      else failures.push(`${seed}: ${describe(outcome)}${outcome.status === 200 ? ', not its own bytes' : ''}`)
      return
    }
  }

  async function worker (): Promise<void> {
    while (!stopped) {
      if (paused) {
        await delay(RETRY_AFTER_MS)
        continue
      }
      busy++
      try {
        await call(`soak-${next++}`)
      } finally {
        busy--
      }
    }
  }

  const workers = Array.from({ length: concurrency }, worker)
  return {
    get done () { return done },
    get retried () { return retried },
    failures,
    async pause () {
      paused = true
      await waitFor(() => busy === 0, { message: 'the soak calls in flight to finish' })
    },
    resume () { paused = false },
    async stop () {
      stopped = true
      await Promise.all(workers)
    }
  }
}
