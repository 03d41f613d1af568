/**
 * One HTTP exchange of a sync job, through exactly what a Call-URL goes through: the URL is
 * checked by the bridge's TargetPolicy (after DNS, connecting only to the checked address), a
 * named credential's header is added on the bridge, headers.ts cleans the headers, and the
 * undici Executor runs it. The answer is buffered: job answers are pages, and one over
 * `maxBodyBytes` fails with BODY_TOO_LARGE.
 */
import { OutbridgeError } from '../../protocol/errors.js'
import type { HeaderList } from '../../protocol/frames.js'
import type { Executor } from '../executor.js'
import { requestHeadersForTarget, responseHeadersForCloud } from '../headers.js'
import type { TargetPolicy } from '../policy.js'

/** What a job's requests share with the bridge's calls. */
export interface JobFetchContext {
  readonly policy: TargetPolicy
  readonly executor: Executor
  /** Header to add for a named local credential; undefined when unknown. */
  readonly credentialHeader: (name: string) => Promise<readonly [string, string] | undefined>
  /** Per-request timeout when a step names none, in ms. */
  readonly defaultTimeout: number
  /** Largest answer body, in bytes. */
  readonly maxBodyBytes: number
}

export interface JobRequest {
  readonly method: string
  readonly url: string
  readonly headers: HeaderList
  readonly body?: Uint8Array
  readonly credential?: string
  /** 0 = the context's default, in ms. */
  readonly timeoutMs: number
}

export interface JobAnswer {
  readonly status: number
  /** Lower-case names, hop-by-hop headers dropped. */
  readonly headers: HeaderList
  readonly body: Buffer
}

async function * single (body: Uint8Array): AsyncGenerator<Uint8Array> {
  yield body
}

/**
 * Runs one request; resolves with the whole answer, whatever its status. Rejects with an
 * OutbridgeError carrying the wire code (FORBIDDEN_TARGET, TARGET_UNREACHABLE, TARGET_TIMEOUT,
 * UNKNOWN_CREDENTIAL, BODY_TOO_LARGE, BAD_REQUEST, CANCELLED, ...).
 */
export async function fetchForJob (ctx: JobFetchContext, request: JobRequest, signal: AbortSignal): Promise<JobAnswer> {
  const target = await ctx.policy.check(request.url)
  let extra: string[] = []
  if (request.credential !== undefined) {
    const header = await ctx.credentialHeader(request.credential)
    if (header === undefined) throw new OutbridgeError('UNKNOWN_CREDENTIAL', `no credential named "${request.credential}" on this bridge`)
    extra = [header[0], header[1]]
  }
  const { body } = request
  const given = body !== undefined && !request.headers.some((s, i) => i % 2 === 0 && s.toLowerCase() === 'content-length')
    ? [...request.headers, 'content-length', String(body.byteLength)]
    : request.headers
  const headers = requestHeadersForTarget(given, target, extra)
  const timeoutMs = request.timeoutMs > 0 ? request.timeoutMs : ctx.defaultTimeout
  if (signal.aborted) throw new OutbridgeError('CANCELLED', 'the job was stopped')
  return await new Promise<JobAnswer>((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    let status = 0
    let answerHeaders: HeaderList = []
    const onAbort = (): void => execution.abort('CANCELLED', 'the job was stopped')
    const settle = (): void => signal.removeEventListener('abort', onAbort)
    const execution = ctx.executor.execute({ method: request.method, target, headers, body: body === undefined ? undefined : single(body), timeoutMs }, {
      head (s, h) {
        status = s
        answerHeaders = h
      },
      data (chunk) {
        size += chunk.byteLength
        if (size > ctx.maxBodyBytes) execution.abort('BODY_TOO_LARGE', `an answer exceeds ${ctx.maxBodyBytes} bytes`)
        else chunks.push(chunk)
        return true
      },
      end () {
        settle()
        resolve({ status, headers: responseHeadersForCloud(answerHeaders), body: Buffer.concat(chunks, size) })
      },
      fail (code, message) {
        settle()
        reject(new OutbridgeError(code, message))
      }
    })
    signal.addEventListener('abort', onAbort, { once: true })
  })
}
