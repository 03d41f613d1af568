/** The running package's version, read from the nearest package.json above this file. */
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

function findVersion (): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (let i = 0; i < 5; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string, version?: string }
      if (pkg.name === 'outbridge' && typeof pkg.version === 'string') return pkg.version
    } catch {}
    dir = dirname(dir)
  }
  return '0.0.0'
}

/** e.g. "0.1.0" */
export const VERSION: string = findVersion()
