/**
 * Load generator: many bridges in one process, each built by the product's own `createBridge`
 * (agent/bridge-factory.ts) with its own data dir, key, socket, backoff and heartbeats, exactly
 * as `outbridge agent` builds one; only the process is shared. A fleet of 1,000 bridges is then a
 * few of these processes instead of 1,000 Node processes.
 *
 * Usage: `node agent-swarm.js --cloud-url URL --count N --prefix NAME --data-root DIR
 * [--heartbeat-interval MS] [--handshake-timeout MS]`, with the client pair in the environment
 * (`CHAOS_SWARM_CLIENT_ID`, `CHAOS_SWARM_CLIENT_SECRET`). It builds every bridge, prints
 * `{"swarm":"ready"}`, starts them all when a line arrives on stdin, prints
 * `{"swarm":"connected","name"}` each time one is welcomed, and stops them all on SIGTERM.
 */
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'
import { createBridge } from '../../agent/bridge-factory.js'
import type { Bridge, BridgeStatus } from '../../agent/bridge.js'
import { createLogger } from '../../agent/logger.js'
import type { AgentOptions } from '../../agent/option-types.js'
import { AGENT_DEFAULTS } from '../../agent/options.js'

function emit (event: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(event)}\n`)
}

function optionsOf (argv: readonly string[]): { count: number, prefix: string, dataRoot: string, base: AgentOptions } {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      'cloud-url': { type: 'string' },
      count: { type: 'string' },
      prefix: { type: 'string' },
      'data-root': { type: 'string' },
      'heartbeat-interval': { type: 'string', default: String(AGENT_DEFAULTS.heartbeatInterval) },
      'handshake-timeout': { type: 'string', default: String(AGENT_DEFAULTS.handshakeTimeout) }
    }
  })
  const clientId = process.env.CHAOS_SWARM_CLIENT_ID
  const clientSecret = process.env.CHAOS_SWARM_CLIENT_SECRET
  if (values['cloud-url'] === undefined || values['data-root'] === undefined || clientId === undefined || clientSecret === undefined) {
    throw new Error('--cloud-url, --data-root, CHAOS_SWARM_CLIENT_ID and CHAOS_SWARM_CLIENT_SECRET are required')
  }
  const base: AgentOptions = {
    ...AGENT_DEFAULTS,
    cloudUrl: values['cloud-url'],
    clientId,
    clientSecret,
    name: '',
    dataDir: '',
    logLevel: 'error',
    heartbeatInterval: Number(values['heartbeat-interval']),
    handshakeTimeout: Number(values['handshake-timeout'])
  }
  return { count: Number(values.count ?? 1), prefix: values.prefix ?? 'swarm', dataRoot: values['data-root'], base }
}

async function main (): Promise<void> {
  const { count, prefix, dataRoot, base } = optionsOf(process.argv.slice(2))
  const log = createLogger('error')
  const bridges: Bridge[] = []
  for (let i = 0; i < count; i++) {
    const name = `${prefix}-${i}`
    const bridge = await createBridge({ ...base, name, dataDir: join(dataRoot, name) }, log)
    bridge.on('state', function onState (status: BridgeStatus) {
      if (status.state === 'connected') emit({ swarm: 'connected', name })
    })
    bridges.push(bridge)
  }
  function stopAll (): void {
    for (const bridge of bridges) bridge.stop()
    // Give the close frames a moment to leave, then go.
    setTimeout(() => process.exit(0), 200).unref()
  }
  process.once('SIGTERM', stopAll)
  process.once('SIGINT', stopAll)
  const lines = createInterface({ input: process.stdin })
  lines.once('line', function go () {
    for (const bridge of bridges) bridge.start()
    emit({ swarm: 'started', count })
  })
  emit({ swarm: 'ready', count })
}

main().catch((err: unknown) => {
  process.stderr.write(`agent-swarm: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`)
  process.exit(1)
})
