/**
 * Starts `outbridge mock-cloud` for e2e tests and wraps it as a {@link Cloud}: its URLs, an API
 * fetch helper with the bearer token, and stop. Owns {@link DEFAULT_CLIENT}, the client pair it
 * registers by default (and `start-agent.ts` connects with).
 */
import { spawnCli } from './cli-process.js'
import type { Proc } from './cli-process.js'

/** The client pair {@link startCloud} registers and {@link startAgent} uses by default. */
export const DEFAULT_CLIENT = { id: 'acc-1', secret: 's3cret-s3cret-s3cret-s3cret!' } as const

const READY = /listening on (https?):\/\/(\[[^\]]+\]|[^\s/:"]+):(\d+)/

/** A running `outbridge mock-cloud`. */
export interface Cloud {
  readonly proc: Proc
  /** `http(s)://HOST:PORT` (a wildcard listen address is reached through loopback). */
  readonly url: string
  /** `ws(s)://HOST:PORT/agent`, for `--cloud-url`. */
  readonly agentUrl: string
  readonly port: number
  /** `fetch(url + path)`, with the bearer token when the cloud was started with one. */
  api (path: string, init?: RequestInit): Promise<Response>
  /** `GET /api/bridges`, parsed; throws unless 200. */
  bridges (): Promise<Array<Record<string, unknown>>>
  /** SIGTERM; resolves with the exit code. */
  stop (): Promise<number | null>
}

/** Starts `mock-cloud --port 0 --client ...` and waits for its ready line. @default clients [`acc-1:<DEFAULT_CLIENT.secret>`] */
export async function startCloud (options: { clients?: string[], args?: string[], env?: NodeJS.ProcessEnv, port?: number, apiToken?: string } = {}): Promise<Cloud> {
  const clients = options.clients ?? [`${DEFAULT_CLIENT.id}:${DEFAULT_CLIENT.secret}`]
  const args = ['mock-cloud', '--port', String(options.port ?? 0), ...clients.flatMap((client) => ['--client', client])]
  if (options.apiToken !== undefined) args.push('--api-token', options.apiToken)
  const proc = spawnCli([...args, ...(options.args ?? [])], { env: options.env })
  let ready: RegExpExecArray
  try {
    ready = READY.exec(await proc.waitForLine((line) => READY.test(line), 15_000))!
  } catch (err) {
    await proc.stop('SIGKILL')
    throw err
  }
  const [, scheme, listenHost, port] = ready
  const host = listenHost === '0.0.0.0' ? '127.0.0.1' : listenHost === '[::]' ? '[::1]' : listenHost
  const url = `${scheme}://${host}:${port}`
  function api (path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers)
    if (options.apiToken !== undefined && !headers.has('authorization')) headers.set('authorization', `Bearer ${options.apiToken}`)
    return fetch(url + path, { ...init, headers })
  }
  async function bridges (): Promise<Array<Record<string, unknown>>> {
    const res = await api('/api/bridges')
    if (res.status !== 200) throw new Error(`GET /api/bridges answered ${res.status}: ${await res.text()}`)
    return await res.json() as Array<Record<string, unknown>>
  }
  return {
    proc,
    url,
    agentUrl: `${scheme === 'https' ? 'wss' : 'ws'}://${host}:${port}/agent`,
    port: Number(port),
    api,
    bridges,
    stop: () => proc.stop()
  }
}
