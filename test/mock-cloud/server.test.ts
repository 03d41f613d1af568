import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createLogger } from '../../agent/logger.js'
import { createCloud } from '../../mock-cloud/server.js'

test('a long relay upload is not cut by the HTTP server: no request timeout, headers still bounded', () => {
  const cloud = createCloud({ clients: [], maxBodyBytes: 1024, heartbeatInterval: 10_000, log: createLogger('silent') })
  // Node's default requestTimeout (300 s) cut a 1 GiB upload at 1 MiB/s with 408 in the chaos run.
  assert.equal(cloud.server.requestTimeout, 0)
  assert.ok(cloud.server.headersTimeout > 0 && cloud.server.headersTimeout <= 60_000)
})
