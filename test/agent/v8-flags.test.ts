import { test } from 'node:test'
import assert from 'node:assert/strict'
import { HEAP_GROWING_PERCENT, v8FlagsFor } from '../../agent/v8-flags.js'

const HEADROOM = `--heap-growing-percent=${HEAP_GROWING_PERCENT}`

test('the agent gets old-generation headroom and a baseline-compiled HTTP parser; the cloud only the headroom', () => {
  assert.deepEqual(v8FlagsFor('agent', []), [HEADROOM, '--liftoff-only'])
  assert.deepEqual(v8FlagsFor('mock-cloud', []), [HEADROOM])
  assert.deepEqual(v8FlagsFor('agent', ['--enable-source-maps', '--max-old-space-size=512']), [HEADROOM, '--liftoff-only'])
})

test('a value on node\'s own command line wins, in any spelling', () => {
  for (const arg of ['--heap-growing-percent=100', '--heap_growing_percent=50', '--heap-growing-percent']) {
    assert.deepEqual(v8FlagsFor('agent', [arg]), ['--liftoff-only'], arg)
  }
  for (const arg of ['--no-liftoff-only', '--liftoff_only', '--wasm-tier-up', '--no-wasm-dynamic-tiering', '--no-liftoff']) {
    assert.deepEqual(v8FlagsFor('agent', [arg]), [HEADROOM], arg)
  }
  assert.deepEqual(v8FlagsFor('mock-cloud', ['--heap-growing-percent', '100']), [])
  // A flag that only starts with one of the names is someone else's.
  assert.deepEqual(v8FlagsFor('agent', ['--liftoff-only-for-testing', '--heap-growing-percentage=1']), [HEADROOM, '--liftoff-only'])
})
