import { test } from 'node:test'
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { createServer, get } from 'node:http'
import type { AddressInfo } from 'node:net'
import { sendError } from '../../mock-cloud/http-errors.js'

test('an error after the head, in the same turn as the first body bytes, still shows the client the head and then a cut body', async () => {
  // The agent's RESPONSE, first DATA and RESET can arrive in one WebSocket message.
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': '100' })
    res.write('first bytes')
    sendError(res, 'BODY_TOO_LARGE', 'the response body exceeds 1 byte')
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  try {
    const { port } = server.address() as AddressInfo
    const req = get(`http://127.0.0.1:${port}/`)
    const [res] = await Promise.race([
      once(req, 'response'),
      once(req, 'error').then(([err]) => { throw new assert.AssertionError({ message: `no response head: ${(err as Error).message}` }) })
    ])
    assert.equal(res.statusCode, 200)
    const chunks: Buffer[] = []
    await assert.rejects(async () => { for await (const chunk of res) chunks.push(chunk as Buffer) }, /aborted/)
    assert.equal(Buffer.concat(chunks).toString(), 'first bytes')
  } finally {
    server.close()
  }
})
