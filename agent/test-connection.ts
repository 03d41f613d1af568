import type { ConnectionOptions } from './option-types.js'

/** Connects once, authenticates, measures one round trip, prints a verdict; resolves with the exit code. */
export async function testConnection (options: ConnectionOptions, out: NodeJS.WritableStream): Promise<number> {
  throw new Error(`testConnection: not written yet (${options.name}, ${String(out)})`)
}
