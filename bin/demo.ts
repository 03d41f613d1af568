/**
 * `npm start`: the whole path on loopback in one process, the way it runs for real in three:
 * a sample private HTTP target, the mock cloud, and a bridge allowed to reach only that target.
 * Prints a ready-to-paste curl line once the bridge is connected, and runs until Ctrl-C.
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createBridge } from '../agent/bridge-factory.js'
import { createLogger } from '../agent/logger.js'
import { AGENT_DEFAULTS } from '../agent/options.js'
import { startSampleTarget } from '../agent/sample-target.js'
import { createCloud } from '../mock-cloud/server.js'

async function main (): Promise<void> {
  const log = createLogger('warn')
  const target = await startSampleTarget()
  const secret = randomBytes(24).toString('base64url')
  const cloud = createCloud({ clients: [{ id: 'demo', secret }], maxBodyBytes: AGENT_DEFAULTS.maxBodyBytes, heartbeatInterval: AGENT_DEFAULTS.heartbeatInterval, log })
  const cloudUrl = await cloud.listen(Number(process.env.PORT ?? 8080), '127.0.0.1').catch(async () => await cloud.listen(0, '127.0.0.1'))
  const dataDir = mkdtempSync(join(tmpdir(), 'outbridge-demo-'))
  const bridge = await createBridge({
    ...AGENT_DEFAULTS,
    cloudUrl: `${cloudUrl.replace(/^http/, 'ws')}/agent`,
    clientId: 'demo',
    clientSecret: secret,
    name: 'demo-bridge',
    dataDir,
    allow: [`127.0.0.1:${target.port}`]
  }, log)
  bridge.start()
  await new Promise<void>((resolve) => bridge.on('state', (s: { state: string }) => { if (s.state === 'connected') resolve() }))
  const body = JSON.stringify({ url: `${target.url}/hello` })
  process.stdout.write([
    `outbridge demo: mock cloud on ${cloudUrl} (admin page: ${cloudUrl}/), bridge "demo-bridge" connected, private target on ${target.url}`,
    `Try: curl -s ${cloudUrl}/api/call -H 'content-type: application/json' -d '${body}'`,
    'Ctrl-C to stop.',
    ''
  ].join('\n'))
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve)
    process.once('SIGTERM', resolve)
  })
  await bridge.drain(2_000)
  await cloud.close(1_000)
  await target.close()
  rmSync(dataDir, { recursive: true, force: true })
}

main().catch((err: unknown) => {
  process.stderr.write(`outbridge demo: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exitCode = 1
})
