/** The agent's /healthz and /metrics (--health-port), and the mock cloud's /metrics. */
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { cleanup, healthUrl, startAgent, startCloud, startTarget, waitFor, type Agent, type Cloud } from './harness.js'
import type { SampleTarget } from '../../agent/sample-target.js'

let cloud: Cloud
let agent: Agent
let target: SampleTarget
let health: string

before(async () => {
  target = await startTarget()
  cloud = await startCloud()
  agent = await startAgent(cloud, { allow: [`127.0.0.1:${target.port}`], args: ['--health-port', '0', '--heartbeat-interval', '300'] })
  health = await healthUrl(agent)
})
after(async () => { await target.close(); await cleanup() })

/** The value of one sample line, e.g. `name{label="x"}`, or undefined. */
function sample (text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

test('healthz is 200 with the connected state while the tunnel is up', async () => {
  const res = await fetch(`${health}/healthz`)
  assert.equal(res.status, 200)
  const body = await res.json() as Record<string, unknown>
  assert.equal(body.state, 'connected')
  assert.equal(typeof body.session, 'string')
})

test('agent metrics: state, rtt, calls by outcome, bytes, durations', async () => {
  const ok = await cloud.api(`/relay/_/http/127.0.0.1:${target.port}/bytes?n=5000`)
  assert.equal(ok.status, 200)
  await ok.arrayBuffer()
  const refused = await cloud.api('/relay/_/http/127.0.0.1:1/x')
  assert.equal(refused.status, 403)
  await refused.arrayBuffer()
  const text = await waitFor(async () => {
    const t = await (await fetch(`${health}/metrics`)).text()
    return (sample(t, 'outbridge_agent_heartbeat_rtt_seconds') ?? 0) > 0 && (sample(t, 'outbridge_agent_calls_total{outcome="FORBIDDEN_TARGET"}') ?? 0) >= 1 ? t : undefined
  }, { timeoutMs: 5_000, message: 'metrics never showed the calls and a heartbeat' })
  assert.equal(sample(text, 'outbridge_agent_connection_state{state="connected"}'), 1)
  assert.equal(sample(text, 'outbridge_agent_connection_state{state="connecting"}'), 0)
  assert.equal(sample(text, 'outbridge_agent_reconnects_total'), 0)
  assert.equal(sample(text, 'outbridge_agent_streams_in_flight'), 0)
  assert.ok((sample(text, 'outbridge_agent_calls_total{outcome="OK"}') ?? 0) >= 1)
  assert.ok((sample(text, 'outbridge_agent_body_bytes_total{direction="from_target"}') ?? 0) >= 5000)
  assert.ok((sample(text, 'outbridge_agent_call_duration_seconds_count') ?? 0) >= 2)
  assert.match(text, /outbridge_agent_process_/)
})

test('cloud metrics: bridges by state and API requests', async () => {
  const text = await (await cloud.api('/metrics')).text()
  assert.equal(sample(text, 'outbridge_cloud_bridges{state="open"}'), 1)
  assert.ok((sample(text, 'outbridge_cloud_api_requests_total{api="relay"}') ?? 0) >= 2)
  assert.match(text, /outbridge_cloud_calls_in_flight 0/)
})

test('healthz is 503 with the state and reason once the cloud is gone', async () => {
  await cloud.stop()
  const body = await waitFor(async () => {
    const res = await fetch(`${health}/healthz`)
    return res.status === 503 ? await res.json() as Record<string, unknown> : undefined
  }, { timeoutMs: 10_000 })
  assert.equal(body.state, 'connecting')
  assert.equal(typeof body.reason, 'string')
})
