import assert from 'node:assert/strict'
import { test } from 'node:test'
import { treeCpuMs } from '../../bench/cpu.js'

test('CPU time of this process grows while it computes, and is 0 for a gone process', () => {
  const before = treeCpuMs(process.pid)
  // Wall time is not CPU time on a shared machine: compute until the counter moves, within a bound.
  const deadline = performance.now() + 5_000
  while (treeCpuMs(process.pid) - before < 30 && performance.now() < deadline) {
    for (let i = 0; i < 1e5; i++) Math.sqrt(i)
  }
  assert.ok(treeCpuMs(process.pid) - before >= 30)
  assert.equal(treeCpuMs(2 ** 22 + 1), 0)
})
