/**
 * The open streams of a session, by stream id. Not a `Map`, on purpose.
 *
 * A Map whose keys churn (a new id per call, deleted when the call ends) keeps replacing its
 * hash table, and V8 links every replaced table to its successor so that live iterators can
 * follow. Once one table in that chain has been promoted (say, the first one, which sat idle
 * through two scavenges before the load began), the chain keeps each later table, and every
 * call object still in it, alive through scavenges: they are all promoted and die in the old
 * generation. In the cloud that was a quarter of all young allocation under small-request load,
 * and 13% of its busy time went to GC (BENCHMARKS.md). Numeric keys on a null-prototype object
 * live in a dictionary with no such links.
 */
export class StreamTable<T> {
  #entries: Record<number, T | undefined> = Object.create(null) as Record<number, T | undefined>
  #size = 0

  get size (): number {
    return this.#size
  }

  get (id: number): T | undefined {
    return this.#entries[id]
  }

  has (id: number): boolean {
    return this.#entries[id] !== undefined
  }

  set (id: number, value: T): void {
    if (this.#entries[id] === undefined) this.#size++
    this.#entries[id] = value
  }

  /** Removes `id`; false when it was not there. */
  delete (id: number): boolean {
    if (this.#entries[id] === undefined) return false
    delete this.#entries[id]
    this.#size--
    return true
  }

  /** A snapshot of the values, in ascending id order. */
  values (): T[] {
    return Object.values(this.#entries) as T[]
  }

  clear (): void {
    this.#entries = Object.create(null) as Record<number, T | undefined>
    this.#size = 0
  }
}
