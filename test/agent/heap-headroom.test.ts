import { test } from 'node:test'
import assert from 'node:assert/strict'
import { HEAP_GROWING_PERCENT, headroomFlag } from '../../agent/heap-headroom.js'

test('the relay processes get V8 old-generation headroom unless node was started with their own', () => {
  assert.equal(headroomFlag([]), `--heap-growing-percent=${HEAP_GROWING_PERCENT}`)
  assert.equal(headroomFlag(['--enable-source-maps', '--max-old-space-size=512']), `--heap-growing-percent=${HEAP_GROWING_PERCENT}`)
  assert.equal(headroomFlag(['--heap-growing-percent=100']), undefined)
  assert.equal(headroomFlag(['--heap_growing_percent=50']), undefined)
  assert.equal(headroomFlag(['--heap-growing-percent', '100']), undefined)
})
