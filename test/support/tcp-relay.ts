/**
 * A loopback TCP relay to put between the agent and the cloud (or any client and server) to
 * inject network faults: a silent partition (`blackhole`), latency, a bandwidth cap, and
 * FIN or RST on every connection. Each direction is a FIFO lane of chunks, so order is kept
 * whatever the shaping; FIN and RST travel in the lanes too, behind the data sent before them.
 */
import { connect, createServer } from 'node:net'
import type { AddressInfo, Socket } from 'node:net'
import { performance } from 'node:perf_hooks'

/** `pass` forwards; `blackhole` forwards nothing either way, keeps both sockets open, sends no FIN. */
export type RelayMode = 'pass' | 'blackhole'

/** A running relay; its shaping applies to every connection, current and future. */
export interface TcpRelay {
  readonly port: number
  /** `SCHEME://127.0.0.1:PORT/PATH`, e.g. `url('ws', '/agent')`. @default scheme 'http', path '' */
  url (scheme?: string, path?: string): string
  /** Data held while blackholed (and a FIN or RST behind it) flows again on `pass`. */
  setMode (mode: RelayMode): void
  /** One-way delay added to each chunk, in ms, from now on. @default 0 */
  setLatency (ms: number): void
  /** Cap per direction and connection, in bytes per second; `undefined` removes it. @default undefined */
  setBandwidth (bytesPerSec: number | undefined): void
  /** `fin`: `end()` both sockets of every connection; `rst`: reset both. Queued data is dropped. */
  closeAll (how: 'fin' | 'rst'): void
  /** Client connections open now. */
  readonly connections: number
  /** Client connections accepted so far. */
  readonly accepted: number
  /** Bytes delivered so far: `up` client to target, `down` target to client. */
  readonly bytes: { up: number, down: number }
  /** Bytes read and not yet delivered (delayed, paced or blackholed), all connections. */
  readonly held: number
  /** Stops listening and destroys every connection. */
  close (): Promise<void>
}

interface Shaping { mode: RelayMode, latency: number, bandwidth: number | undefined }
interface Totals { readonly bytes: { up: number, down: number }, held: number }
type Item = { readonly at: number, data: Buffer } | { readonly at: number, readonly close: 'fin' | 'rst' }

/** A lane stops reading its source once this many bytes wait in it. */
const HIGH_WATER = 1024 * 1024
/** Bandwidth pacing granularity: slices of 1/50 s worth of bytes. */
const SLICES_PER_SECOND = 50

/** One direction of a connection: reads `from`, shapes, writes `to`. */
class Lane {
  readonly #from: Socket
  readonly #to: Socket
  readonly #shaping: Shaping
  readonly #direction: 'up' | 'down'
  readonly #totals: Totals
  readonly #queue: Item[] = []
  #queued = 0
  #nextFreeAt = 0
  #timer: NodeJS.Timeout | undefined
  #waitingDrain = false
  #stopped = false

  constructor (from: Socket, to: Socket, shaping: Shaping, direction: 'up' | 'down', totals: Totals) {
    this.#from = from
    this.#to = to
    this.#shaping = shaping
    this.#direction = direction
    this.#totals = totals
    from.on('data', (data: Buffer) => this.#push({ at: this.#arrival(), data }))
    from.on('end', () => this.#push({ at: this.#arrival(), close: 'fin' }))
    from.on('close', (hadError: boolean) => {
      if (hadError || !from.readableEnded) this.#push({ at: this.#arrival(), close: 'rst' })
    })
    this.#updateFlow()
  }

  /** Forwards whatever is due; call after any change of shaping. */
  pump (): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
    while (this.#queue.length > 0 && this.#shaping.mode === 'pass' && !this.#waitingDrain && !this.#stopped) {
      if (this.#to.destroyed) return this.stop()
      const item = this.#queue[0]
      const wait = Math.max(item.at, this.#nextFreeAt) - performance.now()
      if (wait > 0) {
        this.#timer = setTimeout(() => this.pump(), wait)
        break
      }
      if ('close' in item) {
        this.#queue.shift()
        if (item.close === 'fin') this.#to.end()
        else this.#to.resetAndDestroy()
      } else if (!this.#to.write(this.#take(item))) {
        this.#waitingDrain = true
        this.#to.once('drain', this.#onDrain)
      }
    }
    this.#updateFlow()
  }

  /** Drops what is queued and forwards nothing more. */
  stop (): void {
    this.#stopped = true
    clearTimeout(this.#timer)
    this.#queue.length = 0
    this.#totals.held -= this.#queued
    this.#queued = 0
  }

  #onDrain = (): void => {
    this.#waitingDrain = false
    this.pump()
  }

  #arrival (): number {
    return performance.now() + this.#shaping.latency
  }

  #push (item: Item): void {
    if (this.#stopped) return
    this.#queue.push(item)
    if ('data' in item) {
      this.#queued += item.data.length
      this.#totals.held += item.data.length
    }
    this.pump()
  }

  /** Takes the next slice of the head chunk: all of it, or a bandwidth slice. */
  #take (item: { data: Buffer }): Buffer {
    const bandwidth = this.#shaping.bandwidth
    const size = bandwidth === undefined ? item.data.length : Math.max(1, Math.floor(bandwidth / SLICES_PER_SECOND))
    const slice = item.data.subarray(0, size)
    item.data = item.data.subarray(slice.length)
    if (item.data.length === 0) this.#queue.shift()
    this.#queued -= slice.length
    this.#totals.held -= slice.length
    this.#totals.bytes[this.#direction] += slice.length
    if (bandwidth !== undefined) this.#nextFreeAt = Math.max(performance.now(), this.#nextFreeAt) + slice.length * 1000 / bandwidth
    return slice
  }

  /** Reads the source only while passing and not too far ahead of the destination. */
  #updateFlow (): void {
    const flowing = this.#shaping.mode === 'pass' && this.#queued < HIGH_WATER
    if (flowing && this.#from.isPaused()) this.#from.resume()
    else if (!flowing && !this.#from.isPaused()) this.#from.pause()
  }
}

/** A client socket, its upstream socket, and the two lanes between them. */
class Connection {
  readonly client: Socket
  readonly upstream: Socket
  readonly #lanes: readonly Lane[]
  clientOpen = true

  constructor (client: Socket, target: { host: string, port: number }, shaping: Shaping, totals: Totals) {
    this.client = client
    this.upstream = connect({ host: target.host, port: target.port, allowHalfOpen: true })
    // Errors surface as 'close' with hadError, which the lanes forward as an RST.
    client.on('error', ignoreError)
    this.upstream.on('error', ignoreError)
    this.#lanes = [
      new Lane(client, this.upstream, shaping, 'up', totals),
      new Lane(this.upstream, client, shaping, 'down', totals)
    ]
  }

  pump (): void {
    for (const lane of this.#lanes) lane.pump()
  }

  close (how: 'fin' | 'rst'): void {
    for (const lane of this.#lanes) lane.stop()
    for (const socket of [this.client, this.upstream]) {
      if (how === 'rst') {
        socket.resetAndDestroy()
      } else {
        socket.end()
        // Read on (and discard) so the peer's FIN is seen and the socket closes, even if blackholed.
        socket.resume()
      }
    }
  }

  destroy (): void {
    for (const lane of this.#lanes) lane.stop()
    this.client.destroy()
    this.upstream.destroy()
  }
}

function ignoreError (): void {}

/** Starts a relay on 127.0.0.1 (a free port) that forwards every connection to `target`. */
export async function startTcpRelay (target: { host: string, port: number }): Promise<TcpRelay> {
  const shaping: Shaping = { mode: 'pass', latency: 0, bandwidth: undefined }
  const live = new Set<Connection>()
  const totals: Totals = { bytes: { up: 0, down: 0 }, held: 0 }
  let accepted = 0
  const server = createServer({ allowHalfOpen: true }, function onConnection (client) {
    accepted++
    const connection = new Connection(client, target, shaping, totals)
    live.add(connection)
    client.once('close', () => { connection.clientOpen = false })
    let open = 2
    const forget = (): void => { if (--open === 0) live.delete(connection) }
    client.once('close', forget)
    connection.upstream.once('close', forget)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })
  const { port } = server.address() as AddressInfo
  return {
    port,
    url: (scheme = 'http', path = '') => `${scheme}://127.0.0.1:${port}${path}`,
    setMode (mode) {
      shaping.mode = mode
      for (const connection of live) connection.pump()
    },
    setLatency (ms) {
      if (!(ms >= 0)) throw new RangeError('latency must be >= 0 ms')
      shaping.latency = ms
    },
    setBandwidth (bytesPerSec) {
      if (bytesPerSec !== undefined && !(bytesPerSec > 0)) throw new RangeError('bandwidth must be > 0 bytes/s')
      shaping.bandwidth = bytesPerSec
      for (const connection of live) connection.pump()
    },
    closeAll (how) {
      for (const connection of live) connection.close(how)
    },
    get connections () {
      let open = 0
      for (const connection of live) if (connection.clientOpen) open++
      return open
    },
    get accepted () { return accepted },
    bytes: totals.bytes,
    get held () { return totals.held },
    close () {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      for (const connection of live) connection.destroy()
      return closed
    }
  }
}
