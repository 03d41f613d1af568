#!/usr/bin/env node
// Runs the chaos cases (dist/test/chaos) at full size: OUTBRIDGE_CHAOS=full, one file at a time
// (each case loads the machine on its own), with a per-test timeout long enough for the longest
// case. Extra arguments filter the files by name, e.g. `node scripts/test-chaos.js soak`.
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'

const dir = join(import.meta.dirname, '..', 'dist', 'test', 'chaos')
const filter = process.argv.slice(2)
const files = readdirSync(dir)
  .filter((name) => name.endsWith('.test.js'))
  .filter((name) => filter.length === 0 || filter.some((part) => name.includes(part)))
  .sort()
  .map((name) => join(dir, name))
if (files.length === 0) {
  console.error('no chaos test files matched')
  process.exit(1)
}
const result = spawnSync(process.execPath, ['--test', '--test-concurrency=1', '--test-timeout=3600000', ...files], {
  stdio: 'inherit',
  env: { ...process.env, OUTBRIDGE_CHAOS: 'full' }
})
process.exit(result.status ?? 1)
