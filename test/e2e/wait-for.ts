/** Polling helper of the e2e harness: {@link waitFor} retries a check until it holds or a deadline passes. */
import { setTimeout as delay } from 'node:timers/promises'

/** Polls `fn` until it returns a truthy value, and returns it; throws at the deadline. @default timeoutMs 10_000, intervalMs 25 */
export async function waitFor<T> (fn: () => T | Promise<T>, options: { timeoutMs?: number, intervalMs?: number, message?: string } = {}): Promise<NonNullable<T>> {
  const timeoutMs = options.timeoutMs ?? 10_000
  const deadline = performance.now() + timeoutMs
  let lastError: unknown
  for (;;) {
    try {
      const value = await fn()
      if (value) return value as NonNullable<T>
    } catch (err) {
      lastError = err
    }
    if (performance.now() >= deadline) throw new Error(`${options.message ?? 'waitFor'}: not true within ${timeoutMs} ms`, { cause: lastError })
    await delay(options.intervalMs ?? 25)
  }
}
