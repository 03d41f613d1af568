/**
 * The sync job frames (issue #5). All travel on stream 0 with a MessagePack head, like HELLO;
 * page bodies travel inside the head as MessagePack `bin`, so a page's own JSON nesting never
 * counts against HEAD_LIMITS.maxDepth. PROTOCOL.md "Sync jobs" is the prose of this file.
 *
 * A job has an id; each time it is due it gets a new `run` number; each offer of a run is an
 * `attempt`. What a bridge learns while running is a list of records numbered by `seq` from 0,
 * per run: pages (in parts of at most JOB_PART_BYTES), one STEP record per step that ran, and
 * one FINAL record last. The cloud acknowledges records in order (`upTo`), so a bridge re-sends
 * from its first unacknowledged record after a reconnect and the cloud drops what it has.
 */
import { isErrorCode, type ErrorCode } from './errors.js'
import type { HeaderList } from './frames.js'
import {
  JOB_FREQUENCIES, JobSpecError, asFields, intField, oneOf, optionalText, readJobSpec, textField,
  type Fields, type JobFrequency, type JobSpec
} from './job-spec.js'

/** HELLO capability of a bridge that takes job offers on its own (daemon mode); `run-once` only polls. */
export const JOBS_CAPABILITY = 'jobs'

/** Max body bytes in one page record: bigger pages are sent in parts. */
export const JOB_PART_BYTES = 32 * 1024
/** Max records in one JOB_RECORDS frame. */
export const MAX_RECORDS_PER_FRAME = 4096

const MAX_ID = 128
const MAX_TEXT = 4096
const U32 = 0xffffffff

/** Cloud -> agent: run `spec` as run `run` of job `job`, attempt `attempt`, under a lease. */
export interface JobOfferFrame {
  readonly type: 'job_offer'
  readonly job: string
  readonly run: number
  readonly attempt: number
  /** The lease lasts this long without word from the holding bridge, in ms. */
  readonly leaseMs: number
  readonly spec: JobSpec
}

/**
 * Agent -> cloud: `running` claims the run (sent when it starts, and again after a reconnect
 * for runs still running or not yet delivered); `abandoned` gives up an attempt the bridge
 * cannot finish (it restarted while running it), so the cloud offers the run again at once.
 */
export interface JobStateFrame {
  readonly type: 'job_state'
  readonly job: string
  readonly run: number
  readonly attempt: number
  readonly state: 'running' | 'abandoned'
  readonly message: string
}

/** A page (or part of one) of a step, `page` counting from 1. */
export interface PageRecord {
  readonly kind: 'page'
  readonly seq: number
  /** Step index, from 0. */
  readonly step: number
  readonly page: number
  /** Part index, from 0; the page's body is the concatenation of its parts. */
  readonly part: number
  /** The page's last part. */
  readonly last: boolean
  readonly url: string
  readonly status: number
  readonly body: Uint8Array
}

/** How a step ended. A failed step has the target's `status` (not 2xx) or a wire `code`. */
export interface StepRecord {
  readonly kind: 'step'
  readonly seq: number
  readonly step: number
  readonly state: 'succeeded' | 'failed'
  readonly status?: number
  readonly code?: ErrorCode
  readonly message: string
  /** The last answer's headers (at most a few KiB). */
  readonly headers: HeaderList
  /** More pages were left when `maxPages` was reached. */
  readonly truncated: boolean
  /** Epoch ms. */
  readonly startedAt: number
  readonly durationMs: number
}

/** The run is over: nothing follows. Written before it is sent, so a finished run never runs again. */
export interface FinalRecord {
  readonly kind: 'final'
  readonly seq: number
  readonly state: 'succeeded' | 'failed'
  /** Epoch ms. */
  readonly startedAt: number
  readonly finishedAt: number
}

export type JobRecord = PageRecord | StepRecord | FinalRecord

/** Agent -> cloud: records of one run attempt, in `seq` order. */
export interface JobRecordsFrame {
  readonly type: 'job_records'
  readonly job: string
  readonly run: number
  readonly attempt: number
  readonly records: readonly JobRecord[]
}

/**
 * Cloud -> agent: every record of the run with `seq < upTo` is recorded. `done`: the run is
 * finished on the cloud (its FINAL was recorded, from this attempt or another, or the cloud
 * does not know it): the bridge may forget the run.
 */
export interface JobAckFrame {
  readonly type: 'job_ack'
  readonly job: string
  readonly run: number
  readonly attempt: number
  readonly upTo: number
  readonly done: boolean
}

/** Agent -> cloud (cron mode): offer me the due jobs of `frequency` (only the one named `name`, if given). */
export interface JobPollFrame {
  readonly type: 'job_poll'
  /** Echoed in JOB_POLL_END. */
  readonly poll: number
  readonly frequency: JobFrequency
  readonly name?: string
}

/** Cloud -> agent: every offer for poll `poll` was sent before this frame. */
export interface JobPollEndFrame {
  readonly type: 'job_poll_end'
  readonly poll: number
  readonly offered: number
}

export type JobFrame = JobOfferFrame | JobStateFrame | JobRecordsFrame | JobAckFrame | JobPollFrame | JobPollEndFrame
export type JobFrameType = JobFrame['type']

/** Job frames only the cloud sends. */
export type CloudJobFrame = JobOfferFrame | JobAckFrame | JobPollEndFrame
/** Job frames only the agent sends. */
export type AgentJobFrame = JobStateFrame | JobRecordsFrame | JobPollFrame

const JOB_TYPES: ReadonlySet<string> = new Set<JobFrameType>(['job_offer', 'job_state', 'job_records', 'job_ack', 'job_poll', 'job_poll_end'])
const CLOUD_TYPES: ReadonlySet<string> = new Set<JobFrameType>(['job_offer', 'job_ack', 'job_poll_end'])

export function isJobFrameType (type: string): type is JobFrameType {
  return JOB_TYPES.has(type)
}

/** True for the job frames the cloud sends (offer, ack, poll end). */
export function isCloudJobFrame (frame: JobFrame): frame is CloudJobFrame {
  return CLOUD_TYPES.has(frame.type)
}

function runKey (f: Fields): { job: string, run: number, attempt: number } {
  return { job: textField(f, 'job', MAX_ID), run: intField(f, 'run', 1, U32), attempt: intField(f, 'attempt', 1, U32) }
}

function bytes (f: Fields, name: string, max: number): Uint8Array {
  const v = f[name]
  if (!(v instanceof Uint8Array) || v.byteLength > max) throw new JobSpecError(`field "${name}" must be bytes, at most ${max}`)
  return v
}

function flatStrings (f: Fields, name: string): string[] {
  const v = f[name] ?? []
  if (!Array.isArray(v) || v.length % 2 !== 0 || v.length > 512 || !v.every((s) => typeof s === 'string' && s.length <= MAX_TEXT)) {
    throw new JobSpecError(`field "${name}" must be a flat list of name/value strings`)
  }
  return v.slice() as string[]
}

function readRecord (value: unknown, index: number): JobRecord {
  const f = asFields(value, `records[${index}]`)
  const seq = intField(f, 'seq', 0, U32)
  const kind = oneOf(f, 'kind', ['page', 'step', 'final'])
  const time = (name: string): number => intField(f, name, 0, Number.MAX_SAFE_INTEGER)
  switch (kind) {
    case 'page': return {
      kind, seq, step: intField(f, 'step', 0, 255), page: intField(f, 'page', 1, U32), part: intField(f, 'part', 0, U32),
      last: f.last === true, url: textField(f, 'url', 16 * 1024), status: intField(f, 'status', 100, 999), body: bytes(f, 'body', 16 * 1024 * 1024)
    }
    case 'step': {
      const status = f.status === undefined || f.status === null ? undefined : intField(f, 'status', 100, 999)
      const code = f.code === undefined || f.code === null ? undefined : (isErrorCode(f.code) ? f.code : 'INTERNAL_ERROR')
      return {
        kind, seq, step: intField(f, 'step', 0, 255), state: oneOf(f, 'state', ['succeeded', 'failed']),
        ...(status === undefined ? {} : { status }), ...(code === undefined ? {} : { code }),
        message: textField(f, 'message', MAX_TEXT, '', true), headers: flatStrings(f, 'headers'), truncated: f.truncated === true,
        startedAt: time('startedAt'), durationMs: time('durationMs')
      }
    }
    case 'final': return {
      kind, seq, state: oneOf(f, 'state', ['succeeded', 'failed']), startedAt: time('startedAt'), finishedAt: time('finishedAt')
    }
  }
}

function build (type: JobFrameType, f: Fields): JobFrame {
  switch (type) {
    case 'job_offer':
      return { type, ...runKey(f), leaseMs: intField(f, 'leaseMs', 1, U32), spec: readJobSpec(f.spec) }
    case 'job_state':
      return { type, ...runKey(f), state: oneOf(f, 'state', ['running', 'abandoned']), message: textField(f, 'message', MAX_TEXT, '', true) }
    case 'job_records': {
      const records = f.records
      if (!Array.isArray(records) || records.length === 0 || records.length > MAX_RECORDS_PER_FRAME) {
        throw new JobSpecError(`field "records" must be a list of 1 to ${MAX_RECORDS_PER_FRAME} records`)
      }
      return { type, ...runKey(f), records: records.map(readRecord) }
    }
    case 'job_ack':
      return { type, ...runKey(f), upTo: intField(f, 'upTo', 0, U32), done: f.done === true }
    case 'job_poll': {
      const name = optionalText(f, 'name', MAX_ID)
      const frame = { type, poll: intField(f, 'poll', 0, U32), frequency: oneOf(f, 'frequency', JOB_FREQUENCIES) }
      return name === undefined ? frame : { ...frame, name }
    }
    case 'job_poll_end':
      return { type, poll: intField(f, 'poll', 0, U32), offered: intField(f, 'offered', 0, U32) }
  }
}

/** Builds a typed job frame from a decoded head, or returns what is wrong with it. */
export function validateJobHead (type: JobFrameType, head: unknown): JobFrame | string {
  try {
    return build(type, asFields(head, `${type.toUpperCase()} head`))
  } catch (err) {
    if (err instanceof JobSpecError) return `${type.toUpperCase()}: ${err.message}`
    throw err
  }
}
