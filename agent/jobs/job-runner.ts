/**
 * Runs one sync job's steps in order and reports what it learns as records (pages in parts,
 * one STEP per step that ran, FINAL last) through `emit`, which writes them to the outbox.
 * A failed step ends the run (the cloud marks the rest skipped). Pulls yield to the event
 * loop after every page, so a long pull never holds up Call-URL traffic on the same bridge.
 * Aborting `signal` (the bridge is stopping) ends the run without a FINAL: the run is then
 * interrupted, not failed, and is given back to the cloud when the bridge starts again.
 */
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises'
import { OutbridgeError, codeOf, type ErrorCode } from '../../protocol/errors.js'
import type { HeaderList } from '../../protocol/frames.js'
import { JOB_PART_BYTES } from '../../protocol/job-frames.js'
import { stepUrl, type JobSpec, type PullStep, type RequestStep } from '../../protocol/job-spec.js'
import { fetchForJob, type JobAnswer, type JobFetchContext } from './job-fetch.js'
import { nextFromField, nextFromLink, resolveNext } from './next-page.js'
import type { RecordInput } from './outbox.js'

/** Writes records durably; resolves when the runner may go on. */
export type Emit = (records: readonly RecordInput[]) => Promise<void>

/** How a run ended, for logs and the `run-once` summary. */
export interface RunSummary {
  readonly state: 'succeeded' | 'failed'
  readonly steps: number
  readonly pages: number
  readonly durationMs: number
  /** The step that failed: its index, name, and the target's status or a wire code. */
  readonly failure?: { readonly step: number, readonly name: string, readonly status?: number, readonly code?: ErrorCode, readonly message: string }
}

/** Response headers kept in a STEP record, in bytes. */
const MAX_STEP_HEADER_BYTES = 8 * 1024

interface StepOutcome { readonly ok: boolean, readonly pages: number, readonly status?: number, readonly code?: ErrorCode, readonly message: string }

function isSuccess (status: number): boolean {
  return status >= 200 && status < 300
}

/** The answer's body as page records of at most JOB_PART_BYTES each. */
function pageRecords (step: number, page: number, url: string, answer: JobAnswer): RecordInput[] {
  const out: RecordInput[] = []
  const { body } = answer
  for (let offset = 0, part = 0; offset === 0 || offset < body.byteLength; offset += JOB_PART_BYTES, part++) {
    const chunk = body.subarray(offset, offset + JOB_PART_BYTES)
    out.push({ kind: 'page', step, page, part, last: offset + JOB_PART_BYTES >= body.byteLength, url, status: answer.status, body: chunk })
  }
  return out
}

function cappedHeaders (headers: HeaderList): HeaderList {
  const out: HeaderList = []
  let bytes = 0
  for (let i = 0; i < headers.length; i += 2) {
    bytes += headers[i].length + headers[i + 1].length
    if (bytes > MAX_STEP_HEADER_BYTES) break
    out.push(headers[i], headers[i + 1])
  }
  return out
}

class Run {
  readonly #spec: JobSpec
  readonly #emit: Emit
  readonly #ctx: JobFetchContext
  readonly #signal: AbortSignal
  lastHeaders: HeaderList = []
  truncated = false

  constructor (spec: JobSpec, emit: Emit, ctx: JobFetchContext, signal: AbortSignal) {
    this.#spec = spec
    this.#emit = emit
    this.#ctx = ctx
    this.#signal = signal
  }

  async request (index: number, step: RequestStep): Promise<StepOutcome> {
    const url = stepUrl(this.#spec.connection.baseUrl, step.path)
    const answer = await this.#fetch(step.method, url, step.headers, step.timeoutMs, step.body)
    await this.#emit(pageRecords(index, 1, url, answer))
    return isSuccess(answer.status)
      ? { ok: true, pages: 1, status: answer.status, message: '' }
      : { ok: false, pages: 1, status: answer.status, message: `the target answered ${answer.status}` }
  }

  async pull (index: number, step: PullStep): Promise<StepOutcome> {
    const { baseUrl } = this.#spec.connection
    let url: string | undefined = stepUrl(baseUrl, step.path)
    let pages = 0
    while (url !== undefined) {
      if (pages === step.maxPages) {
        this.truncated = true
        break
      }
      const answer = await this.#fetch('GET', url, step.headers, step.timeoutMs)
      pages++
      await this.#emit(pageRecords(index, pages, url, answer))
      if (!isSuccess(answer.status)) return { ok: false, pages, status: answer.status, message: `page ${pages} answered ${answer.status}` }
      const next = step.nextFrom === 'link' ? nextFromLink(answer.headers) : nextFromField(answer.body, step.nextField ?? 'next')
      const following: string | undefined = next === undefined ? undefined : resolveNext(next, url, baseUrl)
      url = following === url ? undefined : following
      // Fairness: one page per turn of the event loop at most, and the step's own pacing.
      if (step.pageDelayMs > 0) await sleep(step.pageDelayMs, undefined, { signal: this.#signal })
      else await nextTurn()
    }
    return { ok: true, pages, message: '' }
  }

  async #fetch (method: string, url: string, headers: HeaderList, timeoutMs: number, body?: Uint8Array): Promise<JobAnswer> {
    const { credential } = this.#spec.connection
    const answer = await fetchForJob(this.#ctx, { method, url, headers, body, credential, timeoutMs }, this.#signal)
    this.lastHeaders = answer.headers
    return answer
  }
}

async function runStep (run: Run, spec: JobSpec, index: number, signal: AbortSignal): Promise<StepOutcome> {
  const step = spec.steps[index]
  try {
    return step.kind === 'request' ? await run.request(index, step) : await run.pull(index, step)
  } catch (err) {
    if (signal.aborted) throw err
    return { ok: false, pages: 0, code: codeOf(err), message: err instanceof OutbridgeError ? err.message : 'the step failed' }
  }
}

/** Runs `spec`, emitting its records; resolves with a summary once the FINAL record is written. */
export async function runJob (spec: JobSpec, emit: Emit, ctx: JobFetchContext, signal: AbortSignal): Promise<RunSummary> {
  const startedAt = Date.now()
  const started = performance.now()
  let pages = 0
  let failure: RunSummary['failure']
  let index = 0
  for (; index < spec.steps.length && failure === undefined; index++) {
    const run = new Run(spec, emit, ctx, signal)
    const stepStartedAt = Date.now()
    const t0 = performance.now()
    const outcome = await runStep(run, spec, index, signal)
    pages += outcome.pages
    await emit([{
      kind: 'step',
      step: index,
      state: outcome.ok ? 'succeeded' : 'failed',
      ...(outcome.status === undefined ? {} : { status: outcome.status }),
      ...(outcome.code === undefined ? {} : { code: outcome.code }),
      message: outcome.message,
      headers: cappedHeaders(run.lastHeaders),
      truncated: run.truncated,
      startedAt: stepStartedAt,
      durationMs: Math.round(performance.now() - t0)
    }])
    if (!outcome.ok) failure = { step: index, name: spec.steps[index].name, status: outcome.status, code: outcome.code, message: outcome.message }
  }
  const state = failure === undefined ? 'succeeded' : 'failed'
  await emit([{ kind: 'final', state, startedAt, finishedAt: Date.now() }])
  return { state, steps: index, pages, durationMs: Math.round(performance.now() - started), ...(failure === undefined ? {} : { failure }) }
}
