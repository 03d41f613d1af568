/**
 * Redirects, when a bridge is asked to follow them (`--follow-redirects` or a call's
 * `followRedirects`). By default a 3xx goes back to the caller as it is. When following, every
 * hop is a new request that passes the target policy again, so a redirect can never lead
 * somewhere the rules do not allow.
 */
import type { HeaderList } from '../protocol/frames.js'

/** Hops followed before the last 3xx is returned as it is. */
export const MAX_REDIRECTS = 10

export interface RedirectHop {
  readonly url: string
  readonly method: string
}

/**
 * The next hop for a response, or undefined when it is not a redirect to follow. 301/302/303
 * turn a non-GET/HEAD into a bodiless GET (as browsers do); 307/308 keep the method, and are
 * followed only when the request had no body (the body was streamed once and is gone).
 */
export function nextHop (status: number, headers: HeaderList, currentUrl: string, method: string, hadBody: boolean): RedirectHop | undefined {
  if (status !== 301 && status !== 302 && status !== 303 && status !== 307 && status !== 308) return undefined
  let location: string | undefined
  for (let i = 0; i < headers.length; i += 2) if (headers[i] === 'location') location = headers[i + 1]
  if (location === undefined) return undefined
  let url: URL
  try {
    url = new URL(location, currentUrl)
  } catch {
    return undefined
  }
  url.hash = ''
  if (status === 307 || status === 308) return hadBody ? undefined : { url: url.href, method }
  return { url: url.href, method: method === 'HEAD' ? 'HEAD' : 'GET' }
}

/** Headers for a redirected hop: the same minus those describing the old body, and credentials when the origin changes. */
export function headersForHop (headers: HeaderList, sameOrigin: boolean, keepBody: boolean): HeaderList {
  const out: HeaderList = []
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]
    if (!keepBody && (name === 'content-length' || name === 'content-type')) continue
    if (!sameOrigin && (name === 'authorization' || name === 'cookie')) continue
    out.push(name, headers[i + 1])
  }
  return out
}
