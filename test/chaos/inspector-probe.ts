/**
 * Looks inside a child process over the Node inspector protocol: the child runs with
 * {@link INSPECT_ENV} (an inspector on 127.0.0.1, a free port). {@link heapAfterGc} has it
 * collect garbage before reading `heapUsed`, so the figure is the live heap rather than a point
 * anywhere on the GC saw-tooth (which is all a `/metrics` sample can give);
 * {@link activeResources} lists its libuv handles and requests by type.
 */
import { once } from 'node:events'
import WebSocket from 'ws'
import { waitFor } from '../e2e/harness.js'
import type { Proc } from '../e2e/harness.js'

/** Environment that makes a child open an inspector on a free loopback port. */
export const INSPECT_ENV: Readonly<NodeJS.ProcessEnv> = Object.freeze({ NODE_OPTIONS: '--inspect=127.0.0.1:0' })

const LISTENING = /Debugger listening on (ws:\/\/127\.0\.0\.1:\d+\/[\w-]+)/

/** The inspector URL a child started with {@link INSPECT_ENV} printed on stderr. */
export async function inspectorUrl (proc: Proc): Promise<string> {
  const line = await waitFor(() => proc.stderr.find((l) => LISTENING.test(l)), { message: 'the inspector URL on stderr' })
  return (LISTENING.exec(line) as RegExpExecArray)[1]
}

interface CdpReply { readonly id?: number, readonly result?: { result?: { value?: unknown } }, readonly error?: { message: string } }
type Send = (method: string, params?: Record<string, unknown>) => Promise<CdpReply>

/** Opens a session to the inspector at `url`, runs `use`, closes the session. */
async function withInspector<T> (url: string, use: (send: Send) => Promise<T>): Promise<T> {
  const socket = new WebSocket(url)
  await once(socket, 'open')
  let nextId = 1
  const pending = new Map<number, (reply: CdpReply) => void>()
  socket.on('message', function onReply (data: Buffer) {
    const reply = JSON.parse(data.toString()) as CdpReply
    if (reply.id !== undefined) pending.get(reply.id)?.(reply)
  })
  const send: Send = (method, params = {}) => {
    const id = nextId++
    return new Promise((resolve, reject) => {
      pending.set(id, (reply) => reply.error === undefined ? resolve(reply) : reject(new Error(`${method}: ${reply.error.message}`)))
      socket.send(JSON.stringify({ id, method, params }))
    })
  }
  try {
    return await use(send)
  } finally {
    socket.close()
  }
}

async function evaluate (send: Send, expression: string): Promise<unknown> {
  const reply = await send('Runtime.evaluate', { expression, returnByValue: true })
  return reply.result?.result?.value
}

/** Collects garbage twice in the child behind `url`, then returns its `heapUsed`, in bytes. */
export async function heapAfterGc (url: string): Promise<number> {
  return await withInspector(url, async (send) => {
    await send('HeapProfiler.collectGarbage')
    await send('HeapProfiler.collectGarbage')
    const value = await evaluate(send, 'process.memoryUsage().heapUsed')
    if (typeof value !== 'number') throw new Error(`heapUsed came back as ${JSON.stringify(value)}`)
    return value
  })
}

/** The child's active resources (`process.getActiveResourcesInfo()`) counted by type. */
export async function activeResources (url: string): Promise<Record<string, number>> {
  return await withInspector(url, async (send) => {
    const value = await evaluate(send, 'process.getActiveResourcesInfo().reduce((n, type) => (n[type] = (n[type] ?? 0) + 1, n), {})')
    if (typeof value !== 'object' || value === null) throw new Error(`active resources came back as ${JSON.stringify(value)}`)
    return value as Record<string, number>
  })
}
