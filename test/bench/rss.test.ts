import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { test } from 'node:test'
import { procStatusBytes, treeRss, watchRss } from '../../bench/rss.js'

test('reads VmRSS and VmHWM of a live process, 0 for a gone one', () => {
  const rss = procStatusBytes(process.pid, 'VmRSS')
  assert.ok(rss > 1024 * 1024)
  assert.ok(procStatusBytes(process.pid, 'VmHWM') >= rss)
  assert.equal(procStatusBytes(2 ** 22 + 1, 'VmRSS'), 0)
})

test('a process tree counts its children', async () => {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 10_000); process.stdout.write("up")'], { stdio: ['ignore', 'pipe', 'ignore'] })
  try {
    await once(child.stdout, 'data')
    const own = procStatusBytes(process.pid, 'VmRSS')
    const childRss = procStatusBytes(child.pid ?? 0, 'VmRSS')
    assert.ok(childRss > 0)
    assert.ok(treeRss(process.pid) >= own + childRss / 2)
  } finally {
    child.kill()
  }
})

test('a watch keeps the range of each named process', () => {
  const range = watchRss({ self: process.pid, gone: 2 ** 22 + 1 }, 10).stop()
  assert.ok((range.self?.samples ?? 0) >= 2)
  assert.ok((range.self?.min ?? 0) > 0 && (range.self?.min ?? 0) <= (range.self?.max ?? 0))
  assert.ok((range.self?.first ?? 0) >= (range.self?.min ?? 0))
  assert.deepEqual(range.gone, { first: 0, min: 0, max: 0, samples: 0 })
})
