/**
 * The connected bridges and how a call picks one. A selector names a bridge (its `--name`) or a
 * group (its client id: bridges sharing credentials form a group); none, or `_`, means any.
 * Among the candidates, the open one with the fewest calls in flight wins; ties go round-robin.
 * Draining bridges get no new calls.
 */
import { OutbridgeError } from '../protocol/errors.js'
import type { BridgeSession } from './bridge-session.js'

export interface BridgeInfo {
  readonly name: string
  readonly clientId: string
  readonly version: string
  readonly connectedAt: string
  readonly inFlight: number
  readonly state: string
  readonly rttMs: number | null
  readonly session: string
}

export class BridgeRegistry {
  readonly #sessions = new Set<BridgeSession>()
  #turn = 0

  add (session: BridgeSession): void {
    this.#sessions.add(session)
  }

  remove (session: BridgeSession): void {
    this.#sessions.delete(session)
  }

  get size (): number {
    return this.#sessions.size
  }

  sessions (): BridgeSession[] {
    return [...this.#sessions]
  }

  list (): BridgeInfo[] {
    return this.sessions().map((s) => ({
      name: s.name,
      clientId: s.clientId,
      version: s.agentVersion,
      connectedAt: s.connectedAt.toISOString(),
      inFlight: s.inFlight,
      state: s.state,
      rttMs: s.rttMs === undefined ? null : Math.round(s.rttMs * 100) / 100,
      session: s.id
    }))
  }

  /** The bridge for a new call. Throws BRIDGE_UNAVAILABLE when none can take it. */
  pick (selector: string | undefined): BridgeSession {
    const any = selector === undefined || selector === '' || selector === '_'
    let candidates = this.sessions().filter((s) => any || s.name === selector)
    if (!any && candidates.length === 0) candidates = this.sessions().filter((s) => s.clientId === selector)
    const open = candidates.filter((s) => s.state === 'open')
    if (open.length === 0) {
      const what = any ? 'no bridge is connected' : `no bridge "${selector}" is connected`
      throw new OutbridgeError('BRIDGE_UNAVAILABLE', candidates.length > 0 ? `${what} that takes new calls (draining)` : what)
    }
    let best = open[0]
    const start = this.#turn++ % open.length
    for (let i = 0; i < open.length; i++) {
      const s = open[(start + i) % open.length]
      if (i === 0 || s.inFlight < best.inFlight) best = s
    }
    return best
  }
}
