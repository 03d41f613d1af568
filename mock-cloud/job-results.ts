/**
 * Assembles the records of one run attempt, in `seq` order, into the result the jobs API shows:
 * per step its state, status or error code, timings, and the pulled pages (bodies as UTF-8 text,
 * or base64 with `bodyEncoding`) plus, with `itemsField`, the items gathered from every page.
 */
import type { ErrorCode } from '../protocol/errors.js'
import type { FinalRecord, JobRecord, PageRecord, StepRecord } from '../protocol/job-frames.js'
import { fieldAt, type JobSpec } from '../protocol/job-spec.js'
import { headerObject } from './call-api.js'
import { encodeBody } from './body-encoding.js'

export interface PageResult {
  readonly url: string
  readonly status: number
  readonly body: string
  readonly bodyEncoding?: 'base64'
}

export interface StepResult {
  readonly name: string
  readonly kind: 'request' | 'pull'
  readonly state: 'succeeded' | 'failed' | 'skipped'
  readonly status?: number
  readonly code?: ErrorCode
  readonly message?: string
  /** ISO 8601. */
  readonly startedAt?: string
  readonly durationMs?: number
  readonly headers?: Record<string, string | string[]>
  /** A request step's answer body. */
  readonly body?: string
  readonly bodyEncoding?: 'base64'
  /** A pull's pages, in order. */
  readonly pages?: readonly PageResult[]
  readonly pageCount?: number
  /** `maxPages` was reached with pages left. */
  readonly truncated?: boolean
  /** A pull with `itemsField`: every page's items, in order. */
  readonly items?: readonly unknown[]
}

export interface RunResult {
  readonly run: number
  /** The attempt whose records these are. */
  readonly attempt: number
  /** Offers made for this run. */
  readonly attempts: number
  readonly bridge: string
  readonly state: 'succeeded' | 'failed'
  readonly startedAt: string
  readonly finishedAt: string
  readonly durationMs: number
  readonly steps: readonly StepResult[]
}

interface PageParts { readonly url: string, readonly status: number, readonly parts: Uint8Array[] }


/** The records of one attempt of a run, applied strictly in `seq` order. */
export class RunAssembly {
  /** Every record below this `seq` is applied. */
  nextSeq = 0
  final: FinalRecord | undefined
  readonly #pages = new Map<number, PageParts[]>()
  readonly #steps = new Map<number, StepRecord>()

  /** Applies the next record; false when it is not the one expected (a duplicate or a gap). */
  apply (record: JobRecord): boolean {
    if (record.seq !== this.nextSeq || this.final !== undefined) return false
    this.nextSeq++
    if (record.kind === 'page') this.#page(record)
    else if (record.kind === 'step') this.#steps.set(record.step, record)
    else this.final = record
    return true
  }

  #page (record: PageRecord): void {
    const pages = this.#pages.get(record.step) ?? []
    this.#pages.set(record.step, pages)
    if (record.part === 0) pages.push({ url: record.url, status: record.status, parts: [] })
    pages[pages.length - 1]?.parts.push(record.body)
  }

  /** The result once FINAL was applied. */
  result (spec: JobSpec, meta: { run: number, attempt: number, attempts: number, bridge: string }): RunResult {
    const final = this.final
    if (final === undefined) throw new Error('the run is not finished')
    return {
      ...meta,
      state: final.state,
      startedAt: new Date(final.startedAt).toISOString(),
      finishedAt: new Date(final.finishedAt).toISOString(),
      durationMs: final.finishedAt - final.startedAt,
      steps: spec.steps.map((_, i) => this.#stepResult(spec, i))
    }
  }

  #stepResult (spec: JobSpec, index: number): StepResult {
    const step = spec.steps[index]
    const record = this.#steps.get(index)
    if (record === undefined) return { name: step.name, kind: step.kind, state: 'skipped' }
    const pages = (this.#pages.get(index) ?? []).map((p) => ({ url: p.url, status: p.status, ...encodeBody(Buffer.concat(p.parts)) }))
    const common: StepResult = {
      name: step.name,
      kind: step.kind,
      state: record.state,
      ...(record.status === undefined ? {} : { status: record.status }),
      ...(record.code === undefined ? {} : { code: record.code }),
      ...(record.message === '' ? {} : { message: record.message }),
      startedAt: new Date(record.startedAt).toISOString(),
      durationMs: record.durationMs,
      headers: headerObject(record.headers)
    }
    if (step.kind === 'request') {
      const page = pages[0]
      return page === undefined ? common : { ...common, status: page.status, body: page.body, ...(page.bodyEncoding === undefined ? {} : { bodyEncoding: page.bodyEncoding }) }
    }
    const result = { ...common, pageCount: pages.length, truncated: record.truncated, pages }
    return step.itemsField === undefined ? result : { ...result, items: gatherItems(pages, step.itemsField) }
  }
}

/** The items of every JSON page under `field` (arrays are spread, anything else is one item). */
function gatherItems (pages: readonly PageResult[], field: string): unknown[] {
  const items: unknown[] = []
  for (const page of pages) {
    if (page.bodyEncoding !== undefined) continue
    let parsed: unknown
    try {
      parsed = JSON.parse(page.body)
    } catch {
      continue
    }
    const value = fieldAt(parsed, field)
    if (Array.isArray(value)) items.push(...(value as unknown[]))
    else if (value !== undefined) items.push(value)
  }
  return items
}
