#!/usr/bin/env node
// Runs every compiled test file under dist/test with node's own test runner.
// Node 20's `node --test` does not expand globs, so the file list is built here.
import { readdirSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { spawnSync } from 'node:child_process'

const root = join(import.meta.dirname, '..', 'dist', 'test')
const filter = process.argv.slice(2)

/** @param {string} dir @returns {string[]} */
function collect (dir) {
  const out = []
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) out.push(...collect(path))
    else if (name.endsWith('.test.js')) out.push(path)
  }
  return out
}

const files = collect(root).filter((f) => filter.length === 0 || filter.some((p) => relative(root, f).includes(p)))
if (files.length === 0) {
  console.error('no test files matched')
  process.exit(1)
}
const result = spawnSync(process.execPath, ['--test', '--test-concurrency=2', '--test-timeout=120000', ...files], { stdio: 'inherit' })
process.exit(result.status ?? 1)
