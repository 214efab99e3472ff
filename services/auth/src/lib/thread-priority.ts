import { readdirSync } from 'node:fs'
import { setPriority } from 'node:os'

/**
 * Gives the event loop precedence over password hashing. argon2 runs on libuv's thread pool;
 * with more hashing threads than cores the main thread has to queue for a core, and every
 * request waits (event-loop delay). Raising the niceness of every thread but the main one
 * (Linux: threads are tasks, `setpriority` takes a thread id) keeps the loop responsive while
 * the hashing threads still use all the CPU it leaves. Call it after the thread pool exists.
 * Returns how many threads were reniced; 0 where this is not Linux or not allowed.
 */
export function deprioritizeWorkerThreads(niceness: number): number {
  if (niceness <= 0 || process.platform !== 'linux') return 0
  let changed = 0
  try {
    for (const entry of readdirSync('/proc/self/task')) {
      const tid = Number(entry)
      if (tid === process.pid) continue
      try {
        setPriority(tid, niceness)
        changed++
      } catch {
        // A thread that ended meanwhile, or a platform that refuses: nothing to do.
      }
    }
  } catch {
    return 0
  }
  return changed
}
