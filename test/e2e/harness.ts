/**
 * End-to-end harness: runs the built CLI (`dist/bin/outbridge.js`) as child processes the way a
 * user would, per /work/shared/CONTRACT.md. Every process, temp dir and target it starts is
 * tracked; register {@link cleanup} with `after()`. Children get a hermetic environment: no
 * `OUTBRIDGE_*` and no proxy variables unless a test passes them.
 *
 * This file is the entry point tests import; the pieces live in:
 * - `cli-process.ts`: spawning and stopping CLI children, their lines and JSON logs
 * - `tracked.ts`: temp dirs, sample targets and {@link cleanup}
 * - `wait-for.ts`: polling until a condition holds
 * - `start-cloud.ts` / `start-agent.ts`: starting a mock cloud / an agent
 * - `connection-log.ts`: a TCP forwarder recording when connections arrived
 */
export { CLI, childEnv, openFds, runCli, spawnCli } from './cli-process.js'
export type { Proc } from './cli-process.js'
export { cleanup, makeTempDir, startTarget } from './tracked.js'
export { waitFor } from './wait-for.js'
export { DEFAULT_CLIENT, startCloud } from './start-cloud.js'
export type { Cloud } from './start-cloud.js'
export { healthUrl, startAgent } from './start-agent.js'
export type { Agent, AgentStartOptions } from './start-agent.js'
export { startConnectionLog } from './connection-log.js'
export type { ConnectionLog } from './connection-log.js'
