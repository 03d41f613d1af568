/**
 * CPU time of the processes under test, read from /proc (Linux), with descendants counted
 * (sshd serves each connection from a forked child). Used to tell "busy" from "waiting".
 */
import { readFileSync } from 'node:fs'
import { childrenOf } from './rss.js'

/** Kernel clock ticks per second for /proc/PID/stat times (USER_HZ; 100 on Linux). */
const TICKS_PER_SECOND = 100

function ownCpuMs (pid: number): number {
  let stat: string
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  } catch {
    return 0
  }
  // The command name (field 2) may hold spaces; the fields after it start at its closing paren.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const ticks = Number(fields[11]) + Number(fields[12])
  return Number.isFinite(ticks) ? (ticks * 1000) / TICKS_PER_SECOND : 0
}

/** User + system CPU time of `pid` and its live descendants, in ms (10 ms resolution). */
export function treeCpuMs (pid: number): number {
  let total = ownCpuMs(pid)
  for (const child of childrenOf(pid)) total += treeCpuMs(child)
  return total
}
