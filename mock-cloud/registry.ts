/**
 * The connected bridges and how a call picks one. A selector names a bridge (its `--name`) or a
 * group (its client id: bridges sharing credentials form a group); none, or `_`, means any.
 * Bridges sharing a name are a group too: each stays listed and each takes calls.
 * Among the candidates, the open one with the fewest calls in flight wins; ties go round-robin.
 * Draining bridges get no new calls.
 */
import { OutbridgeError } from '../protocol/errors.js'
import type { BridgeSession } from './bridge-session.js'
import { RecentCalls } from './recent-calls.js'

/** What the registry reads of a session (a BridgeSession in the cloud; a fake in tests). */
export type RegisteredBridge = Pick<BridgeSession, 'id' | 'name' | 'clientId' | 'agentVersion' | 'connectedAt' | 'inFlight' | 'state' | 'rttMs'>

/** One entry of `GET /api/bridges`: CONTRACT's fields plus `state`, `rttMs` and `session`. */
export interface BridgeInfo {
  readonly name: string
  readonly clientId: string
  readonly version: string
  /** ISO 8601. */
  readonly connectedAt: string
  readonly inFlight: number
  /** `handshake`, `open`, `draining` or `closed`. */
  readonly state: string
  /** Last heartbeat round trip in ms (two decimals); null before the first one. */
  readonly rttMs: number | null
  readonly session: string
}

export class BridgeRegistry<S extends RegisteredBridge = BridgeSession> {
  readonly #sessions = new Set<S>()
  #turn = 0
  /** The last calls carried through these bridges (the admin page's "recent calls"). */
  readonly recentCalls: RecentCalls

  /** @param recentCalls how many finished calls to keep. @default 200 */
  constructor (recentCalls?: number) {
    this.recentCalls = new RecentCalls(recentCalls)
  }

  add (session: S): void {
    this.#sessions.add(session)
  }

  remove (session: S): void {
    this.#sessions.delete(session)
  }

  get size (): number {
    return this.#sessions.size
  }

  sessions (): S[] {
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

  /**
   * The bridge for a new call, leaving out the ones in `avoid` (already tried for this call).
   * Throws BRIDGE_UNAVAILABLE when none can take it.
   */
  pick (selector: string | undefined, avoid?: ReadonlySet<S>): S {
    const any = selector === undefined || selector === '' || selector === '_'
    let candidates = this.sessions().filter((s) => any || s.name === selector)
    if (!any && candidates.length === 0) candidates = this.sessions().filter((s) => s.clientId === selector)
    const open = candidates.filter((s) => s.state === 'open' && avoid?.has(s) !== true)
    if (open.length === 0) {
      const what = any ? 'no bridge is connected' : `no bridge "${selector}" is connected`
      throw new OutbridgeError('BRIDGE_UNAVAILABLE', candidates.length > 0 ? `${what} that takes new calls (draining, or already tried)` : what)
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
