/**
 * The private target of the chaos cases, for what the sample target (agent/sample-target.ts) has
 * no route for: a counting endpoint that can hold its answer (so a replayed Call-URL shows as a
 * second arrival), a sink that reads an upload at a fixed rate, and a gate that holds 1 KiB
 * answers until the test, or the number of requests waiting, lets them go.
 */
import { createServer } from 'node:http'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { deterministicBytes } from '../support/target-server.js'
import { readPaced } from './paced-reader.js'

/** Bytes of every `/gate` answer. */
export const GATE_ANSWER_BYTES = 1024

/** How many requests wait at one `/gate` group now, at most so far, and in all. */
export interface GateStats {
  readonly held: number
  readonly peak: number
  readonly arrived: number
}

/** A running chaos target on 127.0.0.1. */
export interface ChaosTarget {
  /** `http://127.0.0.1:PORT`. */
  readonly url: string
  readonly port: number
  /** Arrivals at `/once` with this `id`: 1 for a call that reached the target once, 2 for a replay. */
  count (id: string): number
  /** `/once` requests with this `id` that the client closed before an answer was sent. */
  closed (id: string): number
  /** Every arrival at `/once`, in order, with `performance.now()`. */
  readonly arrivals: ReadonlyArray<{ readonly id: string, readonly at: number }>
  gate (group: string): GateStats
  /** Answers every request waiting at `group`. */
  release (group: string): void
  /** Drops the connection of every unanswered `/once` request with this `id`, as a crashing target would. */
  drop (id: string): void
  /** Starts reading the bodies left unread (`read=0`) of `/once` requests with this `id`, as a stuck target that recovers would. */
  drain (id: string): void
  /** Stops listening and closes every connection. */
  close (): Promise<void>
}

interface Gate { waiting: Array<() => void>, peak: number, arrived: number }

/**
 * Starts the chaos target. Routes:
 * - `/once?id=ID[&hold=1][&delayMs=MS][&read=0]` (any method): counts the arrival, reads the body,
 *   then answers `{"id","arrivals","bytes"}` (after `delayMs`), or never when `hold=1`; with
 *   `read=0` it neither reads the body nor answers.
 * - `POST /sink?bps=N`: reads the body at N bytes/s, answers `{"bytes","sha256"}`.
 * - `GET /gate?g=GROUP&seed=S[&until=N]`: waits until {@link ChaosTarget.release} or until N
 *   requests wait at GROUP, then answers the {@link GATE_ANSWER_BYTES} deterministic bytes of seed S.
 * - `GET /gate-stats?g=GROUP` ({@link GateStats} as JSON) and `POST /gate-release?g=GROUP`: the
 *   same control over HTTP, for a target in a process of its own (target-process.ts).
 */
export async function startChaosTarget (): Promise<ChaosTarget> {
  const counts = new Map<string, number>()
  const closes = new Map<string, number>()
  const arrivals: Array<{ id: string, at: number }> = []
  const gates = new Map<string, Gate>()
  const open = new Map<string, Set<IncomingMessage>>()
  function gateOf (group: string): Gate {
    let gate = gates.get(group)
    if (gate === undefined) gates.set(group, gate = { waiting: [], peak: 0, arrived: 0 })
    return gate
  }

  function once (req: IncomingMessage, res: ServerResponse, url: URL): void {
    const id = url.searchParams.get('id') ?? ''
    counts.set(id, (counts.get(id) ?? 0) + 1)
    arrivals.push({ id, at: performance.now() })
    let answered = false
    const requests = open.get(id) ?? new Set<IncomingMessage>()
    open.set(id, requests.add(req))
    res.once('close', () => {
      requests.delete(req)
      if (!answered) closes.set(id, (closes.get(id) ?? 0) + 1)
    })
    // `read=0`: the body is left unread, so its sender stalls once every buffer on the way is full.
    if (url.searchParams.get('read') === '0') return
    let bytes = 0
    req.on('data', (chunk: Buffer) => { bytes += chunk.byteLength })
    req.once('end', () => {
      if (url.searchParams.get('hold') === '1') return
      const answer = (): void => {
        answered = true
        sendJson(res, { id, arrivals: counts.get(id), bytes })
      }
      const delayMs = Number(url.searchParams.get('delayMs') ?? 0)
      if (delayMs > 0) {
        const timer = setTimeout(answer, delayMs)
        res.once('close', () => clearTimeout(timer))
      } else {
        answer()
      }
    })
  }

  async function sink (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const read = await readPaced(req, Number(url.searchParams.get('bps')))
    sendJson(res, { bytes: read.bytes, sha256: read.sha256 })
  }

  function gate (_req: IncomingMessage, res: ServerResponse, url: URL): void {
    const group = gateOf(url.searchParams.get('g') ?? '')
    const body = deterministicBytes(GATE_ANSWER_BYTES, url.searchParams.get('seed') ?? '')
    const answer = (): void => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.byteLength }).end(body)
    }
    group.waiting.push(answer)
    group.arrived++
    res.once('close', () => {
      const at = group.waiting.indexOf(answer)
      if (at !== -1) group.waiting.splice(at, 1)
    })
    group.peak = Math.max(group.peak, group.waiting.length)
    const until = Number(url.searchParams.get('until') ?? 0)
    if (until > 0 && group.waiting.length >= until) release(group)
  }

  function release (group: Gate): void {
    for (const answer of group.waiting.splice(0)) answer()
  }

  function statsOf (group: string): GateStats {
    const g = gateOf(group)
    return { held: g.waiting.length, peak: g.peak, arrived: g.arrived }
  }

  const server = createServer({ requestTimeout: 0 }, function route (req, res) {
    const url = new URL(req.url ?? '/', 'http://chaos.invalid')
    if (url.pathname === '/once') return once(req, res, url)
    if (url.pathname === '/gate') return gate(req, res, url)
    if (url.pathname === '/gate-stats') return sendJson(res, statsOf(url.searchParams.get('g') ?? ''))
    if (url.pathname === '/gate-release' && req.method === 'POST') {
      release(gateOf(url.searchParams.get('g') ?? ''))
      return sendJson(res, {})
    }
    if (url.pathname === '/sink' && req.method === 'POST') {
      sink(req, res, url).catch(() => res.destroy())
      return
    }
    res.writeHead(404).end()
  })
  server.keepAliveTimeout = 10_000
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    count: (id) => counts.get(id) ?? 0,
    closed: (id) => closes.get(id) ?? 0,
    arrivals,
    gate: statsOf,
    release: (group) => { release(gateOf(group)) },
    drop (id) {
      for (const req of open.get(id) ?? []) req.socket.destroy()
    },
    drain (id) {
      for (const req of open.get(id) ?? []) req.resume()
    },
    close () {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      server.closeAllConnections()
      return closed
    }
  }
}

function sendJson (res: ServerResponse, value: unknown): void {
  const body = JSON.stringify(value)
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body)
}
