/**
 * Calls through the tunnel as the chaos cases make them, each turned into an outcome instead of
 * a throw: the HTTP status and tunnel error code, the body, or the network failure of a caller
 * whose own connection to the cloud died.
 */
import type { Cloud } from '../e2e/harness.js'

/** How one call ended, and when (`performance.now()`). */
export interface Outcome {
  readonly status?: number
  /** `x-outbridge-error`, or null for the target's own answer. */
  readonly code?: string | null
  readonly body?: Buffer
  /** The caller's connection failed (no HTTP answer, or a body cut short). */
  readonly failed?: true
  readonly at: number
}

/** `fetch(url, init)` read to its end, as an {@link Outcome}. */
export async function outcomeOf (url: string, init: RequestInit = {}): Promise<Outcome> {
  try {
    const res = await fetch(url, init)
    const body = Buffer.from(await res.arrayBuffer())
    return { status: res.status, code: res.headers.get('x-outbridge-error'), body, at: performance.now() }
  } catch {
    return { failed: true, at: performance.now() }
  }
}

/** `METHOD url` through `POST /api/call`; `body` is the target's answer body. */
export async function apiCall (cloud: Cloud, input: { url: string, method?: string, body?: string, bridge?: string, timeoutMs?: number }): Promise<Outcome> {
  const outcome = await outcomeOf(`${cloud.url}/api/call`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(input)
  })
  if (outcome.status !== 200 || outcome.body === undefined) return outcome
  const answer = JSON.parse(outcome.body.toString()) as { status: number, body: string, bodyEncoding?: string }
  return { ...outcome, status: answer.status, body: Buffer.from(answer.body, answer.bodyEncoding === 'base64' ? 'base64' : 'utf8') }
}

/** The path-form relay URL of `targetPath` on `127.0.0.1:port` through bridge `bridge` (`_`: any). */
export function relayUrl (cloud: Cloud, port: number, targetPath: string, bridge = '_'): string {
  return `${cloud.url}/relay/${encodeURIComponent(bridge)}/http/127.0.0.1:${port}${targetPath}`
}

/** True for a tunnel error answer with `status` and `code`. */
export function isError (outcome: Outcome, status: number, code: string): boolean {
  return outcome.status === status && outcome.code === code
}

/** A one-line account of an outcome, for assertion messages. */
export function describe (outcome: Outcome): string {
  if (outcome.failed === true) return 'connection failed'
  return `${outcome.status ?? '?'} ${outcome.code ?? ''}`.trim()
}
