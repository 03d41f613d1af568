/**
 * Child process of stream-table.test.ts: churns calls through a table the way a busy session
 * does (an id per call, deleted when it ends, ~100 open at a time), after an idle spell long
 * enough for the table's first hash table to be promoted. It turns on --trace-gc-nvp for the
 * busy part only; the test reads from stdout how much of the young generation each scavenge
 * promoted.
 */
import { setImmediate as turn } from 'node:timers/promises'
import { setFlagsFromString } from 'node:v8'
import { StreamTable } from '../../protocol/stream-table.js'

interface Table { set (id: number, value: object): unknown, delete (id: number): boolean }

const table: Table = process.argv[2] === 'map' ? new Map<number, object>() : new StreamTable<object>()
table.set(1, {})
// Idle: other allocation goes through a few scavenges, so the table's storage is promoted.
for (let round = 0; round < 3; round++) {
  let junk: object[] | undefined = []
  for (let i = 0; i < 200_000; i++) junk.push({ i })
  junk = undefined
  await turn()
}
// Busy: every call allocates a small object graph; ~128 stay open at a time.
setFlagsFromString('--trace-gc-nvp')
let id = 3
for (let round = 0; round < 5_000; round++) {
  for (let i = 0; i < 100; i++) {
    table.set(id, { id, headers: ['content-type', 'text/plain', 'x-id', String(id)], state: { open: true, bytes: [0, 0] } })
    table.delete(id - 256)
    id += 2
  }
  await turn()
}
