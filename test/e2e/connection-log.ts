/** A logging TCP forwarder for e2e tests that need to know when each agent connection arrived. */
import { connect, createServer } from 'node:net'
import type { AddressInfo, Socket } from 'node:net'

/** A TCP forwarder that logs when each connection it could pass on arrived (see {@link startConnectionLog}). */
export interface ConnectionLog {
  /** `ws://127.0.0.1:PORT/agent` through the forwarder, for `--cloud-url`. */
  readonly agentUrl: string
  /** `performance.now()` at accept of each connection whose upstream connect succeeded, in that order. */
  readonly forwarded: readonly number[]
  /** Stops listening and destroys every connection. */
  close (): Promise<void>
}

/**
 * Forwards 127.0.0.1:(a free port) to 127.0.0.1:`port` and records arrival times, so a test sees
 * when clients connected, not when a busy server got round to them. A connection whose upstream
 * connect fails is closed (the client sees a failed attempt) and not recorded.
 */
export async function startConnectionLog (port: number): Promise<ConnectionLog> {
  const forwarded: number[] = []
  const sockets = new Set<Socket>()
  const server = createServer(function forward (client) {
    const arrivedAt = performance.now()
    const upstream = connect(port, '127.0.0.1')
    for (const socket of [client, upstream]) {
      sockets.add(socket)
      socket.on('error', () => {}) // either side failing just ends the pair
      socket.once('close', () => {
        sockets.delete(socket)
        client.destroy()
        upstream.destroy()
      })
    }
    upstream.once('connect', () => forwarded.push(arrivedAt))
    client.pipe(upstream).pipe(client)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    agentUrl: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/agent`,
    forwarded,
    close: () => new Promise((resolve) => {
      for (const socket of sockets) socket.destroy()
      server.close(() => resolve())
    })
  }
}
