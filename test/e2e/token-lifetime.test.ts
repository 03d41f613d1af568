/**
 * Short-lived tokens: a cloud that ends sessions when their token expires (`--reauth`) closes
 * with 4003 after the calls in flight finish, and the agent is back at once with a fresh token.
 */
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { cleanup, startAgent, startCloud, startTarget } from './harness.js'

after(cleanup)

test('at token expiry the session ends with 4003, in-flight calls finish, and the agent reconnects at once', async () => {
  const target = await startTarget()
  try {
    const cloud = await startCloud({ args: ['--reauth'] })
    const agent = await startAgent(cloud, { args: ['--token-ttl', '2'] })
    // A call that outlives the token: it must finish on the old session.
    const slow = cloud.api(`/relay/_/http/127.0.0.1:${target.port}/slow?ms=2500`)
    await agent.proc.waitForLine((l) => l.includes('"msg":"connected"'), 15_000, 2)
    const res = await slow
    assert.equal(res.status, 200)
    await res.arrayBuffer()
    const lines = agent.proc.json()
    const closes = lines.filter((l) => l.closeCode === 4003)
    assert.ok(closes.length >= 1, 'the session ended with close code 4003')
    assert.ok(closes.every((l) => l.level === 30), 'a token renewal is routine: info, not a warning')
    // "At once": from the close to the next `connected` well under the first backoff step.
    const closedAt = Date.parse(closes[0].time as string)
    const next = lines.find((l) => l.msg === 'connected' && Date.parse(l.time as string) >= closedAt)
    assert.ok(next !== undefined)
    assert.ok(Date.parse(next.time as string) - closedAt < 1_000, `reconnected after ${Date.parse(next.time as string) - closedAt} ms`)
    const bridges = await cloud.bridges()
    assert.equal(bridges.length, 1)
  } finally {
    await target.close()
  }
})
