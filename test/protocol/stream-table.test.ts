import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { StreamTable } from '../../protocol/stream-table.js'

test('StreamTable: set, get, has, delete, size, values in id order, clear', () => {
  const table = new StreamTable<string>()
  table.set(5, 'five')
  table.set(1, 'one')
  table.set(5, 'FIVE')
  table.set(0xffffffff, 'max')
  assert.equal(table.size, 3)
  assert.equal(table.get(5), 'FIVE')
  assert.equal(table.has(1), true)
  assert.equal(table.get(3), undefined)
  assert.deepEqual(table.values(), ['one', 'FIVE', 'max'])
  assert.equal(table.delete(1), true)
  assert.equal(table.delete(1), false)
  assert.equal(table.has(1), false)
  assert.equal(table.size, 2)
  table.clear()
  assert.equal(table.size, 0)
  assert.deepEqual(table.values(), [])
})

/**
 * Share of the young generation that scavenges promoted while `kind` churned (from
 * --trace-gc-nvp); 0 when V8 collected only with full GCs in that run.
 */
async function promotedShare (kind: 'map' | 'table'): Promise<number> {
  const { stdout } = await promisify(execFile)(process.execPath, [join(import.meta.dirname, 'stream-table-churn.js'), kind], { maxBuffer: 64 << 20 })
  let allocated = 0
  let promoted = 0
  for (const line of stdout.split('\n')) {
    if (!line.includes('gc=s ')) continue
    allocated += Number(/ allocated=(\d+)/.exec(line)?.[1] ?? 0)
    promoted += Number(/ promoted=(\d+)/.exec(line)?.[1] ?? 0)
  }
  return allocated === 0 ? 0 : promoted / allocated
}

const percent = (share: number): string => `${(share * 100).toFixed(1)}%`

test('calls churned through a StreamTable die young, where a Map\'s chained hash tables promote them', async (t) => {
  // Three runs one after the other: GC timing moves with the machine's load.
  const table = [await promotedShare('table'), await promotedShare('table'), await promotedShare('table')]
  assert.ok(Math.max(...table) < 0.05, `scavenges promoted ${table.map(percent).join(', ')} of the young generation`)
  // The control shows the workload exposes the problem: on this V8 a Map promotes most calls.
  // Some runs collect with full GCs only, so it is reported, not asserted.
  const map = await promotedShare('map')
  t.diagnostic(`promoted by scavenges: StreamTable ${table.map(percent).join(', ')}; Map ${percent(map)}`)
})
