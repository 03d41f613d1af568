import assert from 'node:assert/strict'
import { test } from 'node:test'
import { runToEnd, startChild, stopAll, stopChild } from '../../bench/processes.js'

const node = process.execPath

test('waits for a ready line, then stops the child with SIGTERM', async () => {
  const child = startChild('ready', node, ['-e', 'console.log("listening on 4242"); setInterval(() => {}, 1000)'])
  const match = await child.waitFor(/listening on (\d+)/, 10_000)
  assert.equal(match[1], '4242')
  await stopChild(child)
  assert.equal(child.process.signalCode, 'SIGTERM')
})

test('a child that exits before its ready line rejects, with its output', async () => {
  const child = startChild('early', node, ['-e', 'console.error("boom"); process.exit(3)'])
  await assert.rejects(child.waitFor(/never/, 10_000), /early: exited \(3\).*\n.*boom/)
})

test('delivers whole lines, split across chunks', async () => {
  const child = startChild('lines', node, ['-e', 'process.stdout.write("a"); setTimeout(() => process.stdout.write("b\\nc\\n"), 50)'])
  const lines: string[] = []
  child.onLine((line) => lines.push(line))
  await child.waitFor(/c\n/, 10_000)
  assert.deepEqual(lines, ['ab', 'c'])
})

test('runToEnd returns stdout, and rejects on a non-zero exit', async () => {
  assert.equal(await runToEnd(node, ['-e', 'process.stdout.write("x".repeat(100000))'], 10_000), 'x'.repeat(100000))
  await assert.rejects(runToEnd(node, ['-e', 'process.exit(4)'], 10_000), /exited 4/)
})

test('stopAll stops every child still running', async () => {
  const a = startChild('a', node, ['-e', 'setInterval(() => {}, 1000)'])
  const b = startChild('b', node, ['-e', 'setInterval(() => {}, 1000)'])
  await stopAll()
  assert.notEqual(a.process.signalCode ?? a.process.exitCode, null)
  assert.notEqual(b.process.signalCode ?? b.process.exitCode, null)
})
