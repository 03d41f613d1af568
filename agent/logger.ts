/**
 * The agent's and mock cloud's logger; pino enters the code base here. JSON lines on stdout,
 * pretty when stdout is a TTY. Keys used everywhere: `bridge`, `session`, `stream`, `code`.
 * Secrets are kept out of log calls by construction; the redact list is the second line of
 * defence for anything that carries headers or options.
 */
import { pino, type Logger, type LoggerOptions } from 'pino'
import type { LogLevel } from './option-types.js'

export type { Logger }

export const REDACT_PATHS: readonly string[] = Object.freeze([
  'clientSecret', '*.clientSecret', 'secret', '*.secret', 'token', '*.token', 'authorization', '*.authorization',
  'headers.authorization', 'headers.cookie', 'headers["set-cookie"]', 'headers["proxy-authorization"]',
  '*.headers.authorization', '*.headers.cookie', '*.headers["set-cookie"]', '*.headers["proxy-authorization"]',
  'apiToken', '*.apiToken', 'password', '*.password'
])

/** A logger at `level`, writing to `destination` (stdout by default). */
export function createLogger (level: LogLevel, options: { name?: string, destination?: NodeJS.WritableStream, pretty?: boolean } = {}): Logger {
  const config: LoggerOptions = {
    level,
    base: options.name === undefined ? undefined : { name: options.name },
    redact: { paths: [...REDACT_PATHS], censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime
  }
  const pretty = options.pretty ?? (options.destination === undefined && process.stdout.isTTY === true)
  if (pretty) {
    return pino({ ...config, transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l' } } })
  }
  return options.destination === undefined ? pino(config, pino.destination({ dest: 1, sync: true })) : pino(config, options.destination)
}
