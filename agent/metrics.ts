/**
 * The agent's Prometheus metrics (prom-client enters the agent here). Counters are updated from
 * bridge events, never per chunk on the hot path.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { Bridge, BridgeState } from './bridge.js'

const STATES: readonly BridgeState[] = ['connecting', 'connected', 'rejected', 'draining', 'stopped']

/** A registry wired to `bridge`'s events. */
export function bridgeMetrics (bridge: Bridge): Registry {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'outbridge_agent_process_' })
  const state = new Gauge({ name: 'outbridge_agent_connection_state', help: '1 for the current connection state', labelNames: ['state'], registers: [registry] })
  const reconnects = new Gauge({ name: 'outbridge_agent_reconnects_total', help: 'Sessions lost and re-established', registers: [registry], collect () { this.set(bridge.status.reconnects) } })
  const inFlight = new Gauge({ name: 'outbridge_agent_streams_in_flight', help: 'Calls in flight', registers: [registry], collect () { this.set(bridge.status.inFlight) } })
  const rtt = new Gauge({ name: 'outbridge_agent_heartbeat_rtt_seconds', help: 'Last heartbeat round-trip time', registers: [registry] })
  const calls = new Counter({ name: 'outbridge_agent_calls_total', help: 'Calls by outcome code', labelNames: ['outcome'], registers: [registry] })
  const bytes = new Counter({ name: 'outbridge_agent_body_bytes_total', help: 'Body bytes relayed', labelNames: ['direction'], registers: [registry] })
  const failures = new Counter({ name: 'outbridge_agent_connect_failures_total', help: 'Failed connection attempts by kind', labelNames: ['kind'], registers: [registry] })
  const duration = new Histogram({ name: 'outbridge_agent_call_duration_seconds', help: 'Call duration', registers: [registry], buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60] })
  void reconnects
  void inFlight
  const setState = (current: BridgeState): void => { for (const s of STATES) state.set({ state: s }, s === current ? 1 : 0) }
  setState(bridge.status.state)
  bridge.on('state', (s: { state: BridgeState }) => setState(s.state))
  bridge.on('rtt', (ms: number) => rtt.set(ms / 1000))
  bridge.on('failure', (f: { kind: string }) => failures.inc({ kind: f.kind }))
  bridge.on('stream', (outcome: string, bytesIn: number, bytesOut: number, ms: number) => {
    calls.inc({ outcome })
    if (bytesIn > 0) bytes.inc({ direction: 'to_target' }, bytesIn)
    if (bytesOut > 0) bytes.inc({ direction: 'from_target' }, bytesOut)
    duration.observe(ms / 1000)
  })
  return registry
}
