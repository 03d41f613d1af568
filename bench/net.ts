/**
 * Loopback helpers: a free port, and waits (bounded, polling) for a port or an HTTP endpoint
 * to answer. Every address here is 127.0.0.1.
 */
import { get } from 'node:http'
import { connect, createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import type { BenchChild } from './processes.js'

const POLL_INTERVAL = 50

/** A port that was free on 127.0.0.1 a moment ago (for programs that cannot report port 0). */
export function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo
      server.close(() => resolve(port))
    })
  })
}

function tryConnect (port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    socket.once('connect', () => { socket.destroy(); resolve(true) })
    socket.once('error', () => resolve(false))
  })
}

function tryGet (url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = get(url, { agent: false, timeout: 2_000 }, (res) => {
      res.resume()
      resolve(res.statusCode === 200)
    })
    req.once('timeout', () => req.destroy())
    req.once('error', () => resolve(false))
  })
}

async function poll (check: () => Promise<boolean>, what: string, timeoutMs: number, child: BenchChild): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (child.process.exitCode !== null || child.process.signalCode !== null) {
      throw new Error(`${child.name}: exited before ${what} answered; output:\n${child.tail()}`)
    }
    if (await check()) return
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL))
  }
  throw new Error(`${child.name}: ${what} did not answer within ${timeoutMs} ms; output:\n${child.tail()}`)
}

/** Resolves once 127.0.0.1:`port` accepts a connection; rejects if `child` exits or after `timeoutMs`. */
export function waitForPort (port: number, timeoutMs: number, child: BenchChild): Promise<void> {
  return poll(() => tryConnect(port), `port ${port}`, timeoutMs, child)
}

/** Resolves once a GET of `url` answers 200; rejects if `child` exits or after `timeoutMs`. */
export function waitForHttp (url: string, timeoutMs: number, child: BenchChild): Promise<void> {
  return poll(() => tryGet(url), url, timeoutMs, child)
}
