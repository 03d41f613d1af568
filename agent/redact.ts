/** Redaction of secrets that travel inside otherwise printable values. */

/** A URL with its password replaced by `***` (e.g. a proxy URL with user:password), for logs. */
export function redactUrl (url: string): string {
  try {
    const u = new URL(url)
    if (u.password !== '') u.password = '***'
    return u.href
  } catch {
    return '(unparseable URL)'
  }
}
