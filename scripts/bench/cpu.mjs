// CPU time of a process and of PostgreSQL's backends, from /proc: what a route costs per request,
// whatever share of the two cores the load generator takes.
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'

const TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100

/** User + system CPU seconds a process has used so far (fields 14 and 15 of /proc/<pid>/stat); 0 once it is gone. */
export function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The command name (field 2) may contain spaces: count fields from after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND
  } catch {
    return 0
  }
}

/** The pids of the backends connected to `datname` (the service's pool), not counting this session's own. */
export async function backendPids(sql, datname) {
  const rows =
    await sql`select pid from pg_stat_activity where datname = ${datname} and pid <> pg_backend_pid()`
  return rows.map((r) => r.pid)
}

/**
 * Starts measuring the CPU of `pid` and of the PostgreSQL backends of `datname` (when given);
 * `stop()` returns the seconds each used since. Backends are listed at both ends (a pool opens
 * connections under load); one that exits in between is missed, which the long-lived pools of
 * the services make rare.
 */
export async function meterCpu({ pid, sql, datname }) {
  const before = new Map()
  const pgPids = async () => (sql && datname ? backendPids(sql, datname) : [])
  for (const p of await pgPids()) before.set(p, cpuSeconds(p))
  const service = cpuSeconds(pid)
  return {
    async stop() {
      const serviceS = cpuSeconds(pid) - service
      let postgresS = 0
      for (const p of new Set([...before.keys(), ...(await pgPids())]))
        postgresS += cpuSeconds(p) - (before.get(p) ?? 0)
      return { serviceS, postgresS }
    },
  }
}
