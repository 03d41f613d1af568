/** `POST /api/jobs`, `GET /api/jobs`, `GET /api/jobs/:id` (issue #5: being written). */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { sendError } from './http-errors.js'

/** What the jobs API needs from the cloud (the job store, the registry). */
export type JobsApi = Record<string, never>

export function handleJobs (_req: IncomingMessage, res: ServerResponse, _jobs: JobsApi): void {
  sendError(res, 'NOT_FOUND', 'sync jobs are not available yet')
}
