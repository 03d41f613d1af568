/**
 * A real HTTP proxy (the `proxy` package, the one https-proxy-agent is tested against) in its own
 * process on 127.0.0.1, for tests of the agent's proxy support. The child prints one stdout line
 * per CONNECT it sees (`connect HOST:PORT` when let through, `denied HOST:PORT` when its Basic
 * auth check refused it), so a test can tell whether traffic really went through the proxy.
 *
 * This file is both the parent's API ({@link startProxy}) and the child's program: run directly,
 * it serves the proxy.
 */
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { createServer } from 'node:http'
import type { IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createInterface } from 'node:readline'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { createProxy } from 'proxy'

/** Environment variable that hands the child its `user:password` (kept out of its argv). */
const AUTH_VARIABLE = 'OUTBRIDGE_TEST_PROXY_AUTH'
const READY = /^listening (\d+)$/
const START_TIMEOUT = 10_000

/** A running proxy process. */
export interface TestProxy {
  /** `http://127.0.0.1:PORT`, without credentials. */
  readonly url: string
  readonly port: number
  /** `HOST:PORT` of every CONNECT let through, in order. */
  readonly connects: string[]
  /** `HOST:PORT` of every CONNECT refused for missing or wrong credentials (answered 407). */
  readonly denied: string[]
  /** SIGTERMs the process; resolves once it has exited. */
  stop (): Promise<void>
}

/** Options of {@link startProxy}. */
export interface ProxyOptions {
  /** Require `Proxy-Authorization: Basic` with these credentials. @default none (open proxy) */
  auth?: { user: string, password: string }
}

const running = new Set<ChildProcess>()
process.on('exit', function killProxiesOnExit () {
  for (const child of running) child.kill('SIGKILL')
})

/** How to run this very file as a program: through tsx when it is the TypeScript source. */
function childArgs (): string[] {
  const self = fileURLToPath(import.meta.url)
  return self.endsWith('.ts') ? ['--import', import.meta.resolve('tsx'), self] : [self]
}

function childEnvironment (auth: ProxyOptions['auth']): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (key !== 'NODE_TEST_CONTEXT' && key !== AUTH_VARIABLE) env[key] = value
  }
  if (auth !== undefined) env[AUTH_VARIABLE] = `${auth.user}:${auth.password}`
  return env
}

/** Starts a proxy process on 127.0.0.1 (a free port) and waits until it listens. */
export async function startProxy (options: ProxyOptions = {}): Promise<TestProxy> {
  const child = spawn(process.execPath, childArgs(), { env: childEnvironment(options.auth), stdio: ['ignore', 'pipe', 'pipe'] })
  running.add(child)
  const exited = new Promise<void>((resolve) => child.once('close', function onProxyClose () {
    running.delete(child)
    resolve()
  }))
  const connects: string[] = []
  const denied: string[] = []
  const stderr: string[] = []
  createInterface({ input: child.stderr! }).on('line', function onProxyStderr (line) { stderr.push(line) })
  const port = await new Promise<number>((resolve, reject) => {
    let settled = false
    const timer = setTimeout(() => fail('did not start'), START_TIMEOUT)
    function fail (why: string): void {
      if (settled) return
      settled = true
      clearTimeout(timer)
      child.kill('SIGKILL')
      reject(new Error(`test proxy ${why}\n${stderr.slice(-20).join('\n')}`))
    }
    createInterface({ input: child.stdout! }).on('line', function onProxyLine (line) {
      const [verb, target] = line.split(' ')
      if (verb === 'connect') connects.push(target)
      else if (verb === 'denied') denied.push(target)
      const ready = READY.exec(line)
      if (ready !== null && !settled) {
        settled = true
        clearTimeout(timer)
        resolve(Number(ready[1]))
      }
    })
    void exited.then(() => fail('exited'))
  })
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    connects,
    denied,
    async stop () {
      child.kill('SIGTERM')
      await exited
    }
  }
}

/** `Proxy-Authorization` matches `expected` (`user:password`), or no credentials are required. */
function authorized (req: IncomingMessage, expected: string | undefined): boolean {
  if (expected === undefined) return true
  return req.headers['proxy-authorization'] === `Basic ${Buffer.from(expected).toString('base64')}`
}

/** The child's program: serve the proxy, report each CONNECT on stdout. */
function serveProxy (): void {
  const expected = process.env[AUTH_VARIABLE]
  const server = createProxy(createServer())
  // The package calls this for every request and CONNECT before acting on it.
  server.authenticate = function checkAndReport (req: IncomingMessage): boolean {
    const ok = authorized(req, expected)
    if (req.method === 'CONNECT') process.stdout.write(`${ok ? 'connect' : 'denied'} ${req.url ?? ''}\n`)
    return ok
  }
  server.listen(0, '127.0.0.1', function onListening () {
    process.stdout.write(`listening ${(server.address() as AddressInfo).port}\n`)
  })
}

if (process.argv[1] !== undefined && pathToFileURL(process.argv[1]).href === import.meta.url) serveProxy()
