/**
 * `outbridge test-connection`: one attempt, no retries. Connects with the agent's exact
 * settings (proxy, CA, credentials), completes HELLO/WELCOME, measures one PING round trip,
 * prints a one-line verdict on stdout and resolves with the exit code:
 * 0 ok · 2 bad configuration · 3 credentials rejected · 4 cloud unreachable (DNS, TCP, TLS, proxy).
 */
import { DEFAULT_LIMITS, PROTOCOL_VERSIONS } from '../protocol/version.js'
import { classifyConnectError, type ConnectFailure } from './connect-errors.js'
import { AgentSession } from './dispatcher.js'
import { createExecutor } from './executor.js'
import type { ConnectionOptions } from './option-types.js'
import { VERSION } from './package-info.js'
import { TargetPolicy } from './policy.js'
import { openCloudSocket } from './one-shot-socket.js'

export const EXIT = Object.freeze({ ok: 0, config: 2, rejected: 3, unreachable: 4 })

type Verdict = { ok: true, session: string, version: number, rttMs: number } | { ok: false, failure: ConnectFailure }

/** Connects once, authenticates, measures one round trip, prints a verdict; resolves with the exit code. */
export async function testConnection (options: ConnectionOptions, out: NodeJS.WritableStream): Promise<number> {
  const verdict = await attempt(options)
  if (verdict.ok) {
    out.write(`ok: connected to ${options.cloudUrl} as "${options.name}" (session ${verdict.session}, protocol v${verdict.version}, round trip ${verdict.rttMs.toFixed(1)} ms)\n`)
    return EXIT.ok
  }
  const { failure } = verdict
  out.write(`failed: ${failure.kind === 'rejected' ? 'credentials rejected' : failure.kind}: ${failure.message}\n`)
  return failure.kind === 'rejected' ? EXIT.rejected : EXIT.unreachable
}

async function attempt (options: ConnectionOptions): Promise<Verdict> {
  const ws = await openCloudSocket(options, DEFAULT_LIMITS.maxMessageBytes)
  const executor = createExecutor({ connectTimeout: 1_000, maxHeaderSize: 16 * 1024 })
  return await new Promise<Verdict>((resolve) => {
    const deadline = setTimeout(() => finish({ ok: false, failure: { kind: 'timeout', message: `no answer from the cloud within ${options.handshakeTimeout * 2} ms` } }), options.handshakeTimeout * 2)
    let welcome: { session: string, version: number } | undefined
    const session = new AgentSession((m) => ws.send(m), {
      hello: { type: 'hello', versions: PROTOCOL_VERSIONS, name: options.name, agent: VERSION, capabilities: [], limits: DEFAULT_LIMITS },
      limits: DEFAULT_LIMITS,
      streamContext: { policy: new TargetPolicy([]), executor, credentialHeader: async () => undefined, receiveWindow: DEFAULT_LIMITS.initialWindow, maxBodyBytes: 0, defaultTimeout: 1_000, followRedirects: false }
    }, {
      welcomed (w) { welcome = w; session.ping() },
      rtt (ms) { if (welcome !== undefined) finish({ ok: true, session: welcome.session, version: welcome.version, rttMs: ms }) },
      ended (code, message) { finish({ ok: false, failure: { kind: 'protocol', message: `${code}: ${message}` } }) },
      streamClosed () {}
    })
    function finish (verdict: Verdict): void {
      clearTimeout(deadline)
      session.abandon('BRIDGE_DISCONNECTED', 'test finished')
      ws.removeAllListeners()
      ws.on('error', () => {})
      ws.close(1000, 'test-connection done')
      void executor.close()
      resolve(verdict)
    }
    ws.on('open', () => session.open())
    ws.on('message', (data: Buffer) => session.receive(data))
    ws.on('error', (err) => finish({ ok: false, failure: classifyConnectError(err, err.message) }))
    ws.on('close', (code, reason) => finish({ ok: false, failure: { kind: 'protocol', message: `the cloud closed the connection (${code} ${reason.toString()})` } }))
  })
}
