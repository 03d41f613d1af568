/**
 * A request body arriving in DATA frames, offered to undici as an async iterable. undici pulls
 * a chunk only when the target socket can take it, and every pulled chunk is reported through
 * `onConsumed`, which is what returns credit to the cloud: the body is never buffered beyond the
 * window the agent granted.
 */

export class RequestBody implements AsyncIterable<Uint8Array> {
  readonly #onConsumed: (bytes: number) => void
  #queue: Uint8Array[] = []
  #ended = false
  #error: Error | undefined
  #wake: (() => void) | undefined

  constructor (onConsumed: (bytes: number) => void) {
    this.#onConsumed = onConsumed
  }

  push (chunk: Uint8Array): void {
    if (this.#ended || this.#error !== undefined) return
    this.#queue.push(chunk)
    this.#signal()
  }

  end (): void {
    this.#ended = true
    this.#signal()
  }

  /** Fails the iteration (the call was reset); undici then aborts the target request. */
  destroy (error: Error): void {
    if (this.#error !== undefined) return
    this.#error = error
    this.#queue = []
    this.#signal()
  }

  async * [Symbol.asyncIterator] (): AsyncIterator<Uint8Array> {
    while (true) {
      if (this.#error !== undefined) throw this.#error
      const chunk = this.#queue.shift()
      if (chunk !== undefined) {
        this.#onConsumed(chunk.byteLength)
        yield chunk
        continue
      }
      if (this.#ended) return
      await new Promise<void>((resolve) => { this.#wake = resolve })
    }
  }

  #signal (): void {
    const wake = this.#wake
    this.#wake = undefined
    wake?.()
  }
}
