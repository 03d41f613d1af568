/**
 * The single session of `run-once`: one attempt, no retries, with the agent's exact connection
 * settings (like test-connection). Once welcomed it announces itself draining, so the cloud
 * routes no Call-URL traffic to a process about to exit, and attaches the job client.
 */
import type { PeerLimits } from '../../protocol/frames.js'
import { PROTOCOL_VERSIONS } from '../../protocol/version.js'
import { classifyConnectError, type ConnectFailure } from '../connect-errors.js'
import { AgentSession, type SessionOptions } from '../dispatcher.js'
import { openCloudSocket } from '../one-shot-socket.js'
import type { ConnectionOptions } from '../option-types.js'
import { VERSION } from '../package-info.js'
import type { JobLink } from './job-client.js'

/** HELLO capability of a `run-once` session: it polls for jobs and takes no unsolicited offers. */
export const JOB_POLL_CAPABILITY = 'job-poll'

export type OnceLink =
  | { readonly ok: true, readonly session: string, readonly lost: Promise<string>, close (): void }
  | { readonly ok: false, readonly failure: ConnectFailure }

/** Connects once; resolves when welcomed (jobs attached) or when the attempt failed. */
export async function openOnceLink (
  options: ConnectionOptions,
  limits: PeerLimits,
  streamContext: SessionOptions['streamContext'],
  jobs: JobLink
): Promise<OnceLink> {
  const ws = await openCloudSocket(options, limits.maxMessageBytes)
  return await new Promise<OnceLink>((resolve) => {
    let welcomed = false
    let markLost: (why: string) => void = () => {}
    const lost = new Promise<string>((resolve) => { markLost = resolve })
    const deadline = setTimeout(() => fail({ kind: 'timeout', message: `no answer from the cloud within ${options.handshakeTimeout * 2} ms` }), options.handshakeTimeout * 2)
    const session = new AgentSession((m) => ws.send(m), {
      hello: { type: 'hello', versions: PROTOCOL_VERSIONS, name: options.name, agent: VERSION, capabilities: [JOB_POLL_CAPABILITY], limits },
      limits,
      streamContext,
      jobs: (frame) => jobs.receive(frame)
    }, {
      welcomed (welcome) {
        welcomed = true
        clearTimeout(deadline)
        session.drain()
        jobs.attach((frame) => session.sendJob(frame), welcome.limits)
        resolve({ ok: true, session: welcome.session, lost, close })
      },
      ended (code, message) { end(`${code}: ${message}`) },
      rtt () {},
      streamClosed () {}
    })
    function close (): void {
      end('closed')
      ws.close(1000, 'run-once done')
    }
    function end (why: string): void {
      session.abandon('BRIDGE_DISCONNECTED', why)
      jobs.detach()
      markLost(why)
    }
    function fail (failure: ConnectFailure): void {
      clearTimeout(deadline)
      if (welcomed) return end(failure.message)
      session.abandon('BRIDGE_DISCONNECTED', failure.message)
      ws.removeAllListeners()
      ws.on('error', () => {})
      ws.terminate()
      resolve({ ok: false, failure })
    }
    ws.on('open', () => session.open())
    ws.on('message', (data: Buffer) => session.receive(data))
    ws.on('error', (err) => fail(classifyConnectError(err, err.message)))
    ws.on('close', (code, reason) => fail({ kind: 'protocol', message: `the cloud closed the connection (${code} ${reason.toString()})` }))
  })
}
