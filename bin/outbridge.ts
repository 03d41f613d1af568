#!/usr/bin/env node
import { main } from '../agent/cli.js'

process.exitCode = await main(process.argv.slice(2), {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cliPath: process.argv[1] ?? ''
})
