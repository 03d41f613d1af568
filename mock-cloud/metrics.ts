/** The mock cloud's Prometheus metrics (prom-client). Gauges are sampled at scrape time. */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client'
import type { BridgeRegistry } from './registry.js'

export interface CloudMetrics {
  readonly registry: Registry
  /** API requests by endpoint. */
  readonly calls: Counter<'api'>
  /** Refused bridge logins by reason. */
  readonly rejected: Counter<'reason'>
}

const STATES = ['handshake', 'open', 'draining', 'closed'] as const

export function cloudMetrics (bridges: BridgeRegistry): CloudMetrics {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'outbridge_cloud_process_' })
  new Gauge({ // eslint-disable-line no-new
    name: 'outbridge_cloud_bridges',
    help: 'Bridges connected, by state',
    labelNames: ['state'],
    registers: [registry],
    collect () {
      for (const state of STATES) this.set({ state }, bridges.sessions().filter((s) => s.state === state).length)
    }
  })
  new Gauge({ // eslint-disable-line no-new
    name: 'outbridge_cloud_calls_in_flight',
    help: 'Calls in flight across all bridges',
    registers: [registry],
    collect () { this.set(bridges.sessions().reduce((n, s) => n + s.inFlight, 0)) }
  })
  return {
    registry,
    calls: new Counter({ name: 'outbridge_cloud_api_requests_total', help: 'API requests by endpoint', labelNames: ['api'], registers: [registry] }),
    rejected: new Counter({ name: 'outbridge_cloud_bridge_rejections_total', help: 'Refused bridge logins by reason', labelNames: ['reason'], registers: [registry] })
  }
}
