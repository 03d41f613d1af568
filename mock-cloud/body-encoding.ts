/** How the JSON APIs carry bodies: UTF-8 text, or base64 with `bodyEncoding: "base64"` (CONTRACT "Bodies"). */

const utf8 = new TextDecoder('utf-8', { fatal: true })

/** UTF-8 text when the bytes are valid UTF-8, else base64 with `bodyEncoding: "base64"`. */
export function encodeBody (body: Buffer): { body: string, bodyEncoding?: 'base64' } {
  try {
    return { body: utf8.decode(body) }
  } catch {
    return { body: body.toString('base64'), bodyEncoding: 'base64' }
  }
}
