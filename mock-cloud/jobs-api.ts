/**
 * The sync jobs API (issue #5): `POST /api/jobs` -> `201 {id}`, `GET /api/jobs` (summaries),
 * `GET /api/jobs/:id` (state and results). A job is JSON as PROTOCOL.md "Sync jobs" shows:
 * step headers as an object (a repeated header as an array), a request body as UTF-8 text or
 * base64 with `"bodyEncoding": "base64"`. A malformed job is 400 BAD_REQUEST naming the field.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { OutbridgeError, codeOf } from '../protocol/errors.js'
import { JobSpecError, readJobSpec, type JobSpec } from '../protocol/job-spec.js'
import { sendError, sendJson } from './http-errors.js'
import type { JobStore } from './job-store.js'
import { readBody } from './read-body.js'

/** What the jobs API needs from the cloud. */
export interface JobsApi {
  readonly store: JobStore
}

/** Largest job body accepted, in bytes. */
const MAX_JOB_JSON_BYTES = 256 * 1024

function badRequest (message: string): OutbridgeError {
  return new OutbridgeError('BAD_REQUEST', message)
}

function isMap (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** `{name: value | [values]}` as a flat list. */
function flatHeaders (value: unknown, where: string): unknown {
  if (value === undefined || value === null) return undefined
  if (!isMap(value)) throw badRequest(`${where}: field "headers" must be an object of name: value`)
  const out: unknown[] = []
  for (const [name, v] of Object.entries(value)) {
    for (const one of Array.isArray(v) ? v : [v]) out.push(name, one)
  }
  return out
}

function bodyBytes (body: unknown, encoding: unknown, where: string): Uint8Array | undefined {
  if (body === undefined || body === null) return undefined
  if (typeof body !== 'string') throw badRequest(`${where}: field "body" must be a string`)
  if (encoding === 'base64') return Buffer.from(body, 'base64')
  if (encoding !== undefined && encoding !== null && encoding !== 'utf8') throw badRequest(`${where}: field "bodyEncoding" must be "base64"`)
  return Buffer.from(body, 'utf8')
}

/** A job from its JSON form. @throws OutbridgeError BAD_REQUEST naming the bad field */
export function parseJobJson (value: unknown): JobSpec {
  if (!isMap(value)) throw badRequest('the job must be a JSON object')
  const steps = Array.isArray(value.steps)
    ? value.steps.map((step: unknown, i) => {
      if (!isMap(step)) return step
      const where = `steps[${i}]`
      return { ...step, headers: flatHeaders(step.headers, where), body: bodyBytes(step.body, step.bodyEncoding, where) }
    })
    : value.steps
  try {
    return readJobSpec({ ...value, steps })
  } catch (err) {
    if (err instanceof JobSpecError) throw badRequest(err.message)
    throw err
  }
}

/** Jobs the mock cloud keeps at most. */
const MAX_JOBS = 10_000

async function createJob (req: IncomingMessage, res: ServerResponse, store: JobStore): Promise<void> {
  const raw = await readBody(req, MAX_JOB_JSON_BYTES)
  let value: unknown
  try {
    value = JSON.parse(raw.toString('utf8'))
  } catch {
    throw badRequest('the body is not valid JSON')
  }
  const spec = parseJobJson(value)
  // Every job is held in memory: a bound keeps a runaway client from growing the cloud forever.
  if (store.size >= MAX_JOBS) throw new OutbridgeError('BAD_REQUEST', `the cloud holds at most ${MAX_JOBS} jobs`)
  const id = store.create(spec)
  sendJson(res, 201, { id }, { location: `/api/jobs/${encodeURIComponent(id)}` })
}

/** Routes `/api/jobs` and `/api/jobs/:id`. */
export function handleJobs (req: IncomingMessage, res: ServerResponse, jobs: JobsApi): void {
  const path = (req.url ?? '/').split('?')[0]
  const method = req.method ?? 'GET'
  if (path === '/api/jobs' || path === '/api/jobs/') {
    if (method === 'POST') {
      createJob(req, res, jobs.store).catch((err: unknown) => {
        sendError(res, codeOf(err, 'BAD_REQUEST'), err instanceof OutbridgeError ? err.message : 'the job could not be created')
      })
      return
    }
    if (method !== 'GET' && method !== 'HEAD') return sendError(res, 'METHOD_NOT_ALLOWED', 'use GET or POST')
    return sendJson(res, 200, jobs.store.list())
  }
  if (method !== 'GET' && method !== 'HEAD') return sendError(res, 'METHOD_NOT_ALLOWED', 'use GET')
  let id: string
  try {
    id = decodeURIComponent(path.slice('/api/jobs/'.length))
  } catch {
    return sendError(res, 'NOT_FOUND', 'no such job')
  }
  const view = jobs.store.view(id)
  if (view === undefined) return sendError(res, 'NOT_FOUND', 'no such job')
  sendJson(res, 200, view)
}
