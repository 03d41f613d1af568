/**
 * Pausing and resuming a relay upload, and noticing meanwhile that its caller hung up. A request
 * paused for lack of credit is not read, and a socket that is not read cannot see its peer's FIN
 * queued behind the unread data, so the response would never emit `close` and the call would
 * hold its stream until the call timeout. So once the upload has been paused for
 * {@link PROBE_MS} without a break, the caller gets an interim `102 Processing` every {@link PROBE_MS}
 * until it is resumed: a peer that has gone answers the first write after its departure with a
 * RST, the next write fails, the response closes and the caller's hang-up cancels the call
 * (route-call `cancelWhenCallerLeaves`). Clients skip such interim answers (fetch, undici,
 * node:http and curl were checked). No probe goes out once the final head is written, to an
 * HTTP/1.0 caller (which must not get a 1xx), or while an earlier probe is still unsent.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'

/** How long an upload stays paused before the first probe, and the period of the next ones, in ms. */
export const PROBE_MS = 1_000

/** The pause/resume switch of one relay upload, probing its caller while it is paused. */
export class PausedUpload {
  readonly #req: IncomingMessage
  readonly #res: ServerResponse
  readonly #probeMs: number
  #timer: NodeJS.Timeout | undefined
  #paused = false
  #stopped = false

  constructor (req: IncomingMessage, res: ServerResponse, probeMs = PROBE_MS) {
    this.#req = req
    this.#res = res
    this.#probeMs = probeMs
    res.once('close', () => this.stop())
  }

  /** Stops reading the upload; probes the caller if it stays paused. */
  pause (): void {
    this.#req.pause()
    this.#paused = true
    if (this.#stopped || this.#over()) return
    // One timer per upload, re-armed by each pause: it fires PROBE_MS after the latest pause,
    // and finds the upload still paused only if it has been paused ever since.
    if (this.#timer === undefined) {
      this.#timer = setTimeout(() => this.#probe(), this.#probeMs)
      this.#timer.unref()
    } else {
      this.#timer.refresh()
    }
  }

  /** Reads the upload again (the bridge granted credit). */
  resume (): void {
    this.#paused = false
    this.#req.resume()
  }

  /** No more probes (the call is over). */
  stop (): void {
    this.#stopped = true
    clearTimeout(this.#timer)
    this.#timer = undefined
  }

  #probe (): void {
    if (this.#stopped || !this.#paused) return
    if (this.#over()) {
      this.stop()
      return
    }
    // `socket` is null while an earlier response on a pipelined connection is still going out;
    // and a probe still queued says nothing new, another would only pile up behind it.
    const socket = this.#res.socket
    if (socket !== null && !socket.destroyed && socket.writableLength === 0) this.#res.writeProcessing()
    this.#timer?.refresh()
  }

  /** True when no probe may go out any more: the final head is written, or the caller speaks HTTP/1.0. */
  #over (): boolean {
    const res = this.#res
    const req = this.#req
    return res.headersSent || res.writableEnded || res.destroyed ||
      !(req.httpVersionMajor > 1 || (req.httpVersionMajor === 1 && req.httpVersionMinor >= 1))
  }
}
