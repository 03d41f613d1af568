import type { ConnectionOptions } from './option-types.js'

export type Frequency = 'hourly' | 'daily' | 'weekly' | 'monthly'

/** Cron mode: runs the due sync jobs of one frequency, delivers the results; resolves with the exit code. */
export async function runOnce (options: ConnectionOptions & { readonly frequency: Frequency, readonly job?: string }, out: NodeJS.WritableStream): Promise<number> {
  throw new Error(`runOnce: not written yet (${options.frequency}, ${String(out)})`)
}
