/**
 * Where a paginated pull goes next: the `Link: <url>; rel="next"` header (RFC 8288), or a
 * dotted JSON field of the page. A next URL is resolved against the page's URL and must stay
 * on the connection's origin: the bridge adds the connection's credential to every page, so a
 * page may not send it anywhere else.
 */
import { OutbridgeError } from '../../protocol/errors.js'
import type { HeaderList } from '../../protocol/frames.js'
import { fieldAt } from '../../protocol/job-spec.js'

const LINK_VALUE = /<([^>]*)>([^<]*)/g
const REL = /(?:^|;)\s*rel\s*=\s*(?:"([^"]*)"|([^\s;,"]+))/i

/** The target of the first `rel="next"` link in the `link` headers, or undefined. */
export function nextFromLink (headers: HeaderList): string | undefined {
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i].toLowerCase() !== 'link') continue
    for (const match of headers[i + 1].matchAll(LINK_VALUE)) {
      const rel = REL.exec(match[2])
      const values = (rel?.[1] ?? rel?.[2] ?? '').toLowerCase().split(/\s+/)
      if (values.includes('next') && match[1].trim() !== '') return match[1].trim()
    }
  }
  return undefined
}

/**
 * The next-page URL in field `field` of a JSON page: a non-empty string, else undefined (null,
 * absent, empty: the last page). Throws BAD_REQUEST when the page is not JSON or the field
 * holds something other than a string or null.
 */
export function nextFromField (body: Uint8Array, field: string): string | undefined {
  let parsed: unknown
  try {
    parsed = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'))
  } catch {
    throw new OutbridgeError('BAD_REQUEST', `the page is not JSON, so it has no field "${field}"`)
  }
  const next = fieldAt(parsed, field)
  if (next === undefined || next === null || next === '') return undefined
  if (typeof next !== 'string') throw new OutbridgeError('BAD_REQUEST', `field "${field}" of the page is not a URL string`)
  return next
}

/** `next` resolved against `current`; FORBIDDEN_TARGET when it leaves the origin of `baseUrl`. */
export function resolveNext (next: string, current: string, baseUrl: string): string {
  let url: URL
  try {
    url = new URL(next, current)
  } catch {
    throw new OutbridgeError('BAD_REQUEST', 'the next-page link is not a valid URL')
  }
  if (url.origin !== new URL(baseUrl).origin) {
    throw new OutbridgeError('FORBIDDEN_TARGET', 'the next-page link leaves the connection\'s origin')
  }
  url.hash = ''
  return url.href
}
