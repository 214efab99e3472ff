import type { Query } from './maintenance-sql.js'
import { DEFAULT_PARTITION, LOCK_TIMEOUT, monthStart } from './partitions.js'

/** Rows per delete statement, each its own short transaction. */
export const DELETE_BATCH = 1000

type Transaction = <T>(fn: (q: Query) => Promise<T>) => Promise<T>

/** Runs `batch` until it deletes fewer than DELETE_BATCH rows; returns the total. */
async function inBatches(batch: () => Promise<number>): Promise<number> {
  let total = 0
  for (;;) {
    const n = await batch()
    total += n
    if (n < DELETE_BATCH) return total
  }
}

/**
 * Deletes the expired pageviews left after whole months were dropped, 1000 rows per statement:
 * those of the month the cutoff falls in, and older strays in the DEFAULT partition. Rows of a
 * whole expired month whose drop gave up waiting for its lock stay for the next run's drop
 * rather than being deleted row by row. The conditions on entered_at limit each statement to
 * the cutoff's month and the DEFAULT partition.
 */
export async function deleteExpiredPageViews(transaction: Transaction, cutoff: Date): Promise<number> {
  const boundary = monthStart(cutoff).toISOString()
  const batch = (table: string, where: string, params: string[]) =>
    inBatches(() =>
      transaction(async (q) => {
        await q(LOCK_TIMEOUT)
        const rows = await q<{ n: number }>(
          `with gone as (
             delete from ${table} where (id, entered_at) in (
               select id, entered_at from ${table} where ${where} limit ${DELETE_BATCH})
             returning 1)
           select count(*)::int as n from gone`,
          params,
        )
        return rows[0]?.n ?? 0
      }),
    )
  return (
    (await batch('analytics_pageviews', 'entered_at >= $1 and entered_at < $2', [
      boundary,
      cutoff.toISOString(),
    ])) + (await batch(DEFAULT_PARTITION, 'entered_at < $1', [boundary]))
  )
}

/**
 * Deletes the erasure tombstones (analytics_erasures) whose window has passed. Ingest does not
 * look at `expires_at`, so without this an erased id or visitor would stay refused until the
 * next erasure pruned it. The table holds one row per erasure: one statement.
 */
export async function deleteExpiredTombstones(transaction: Transaction, now: Date): Promise<number> {
  const [row] = await transaction(async (q) => {
    await q(LOCK_TIMEOUT)
    return q<{ n: number }>(
      'with gone as (delete from analytics_erasures where expires_at < $1 returning 1) select count(*)::int as n from gone',
      [now.toISOString()],
    )
  })
  return row?.n ?? 0
}

/**
 * Deletes the sessions whose last activity is before `cutoff` (their pageviews go with them, by
 * the foreign key's cascade), 1000 per statement, walking the primary key from where the last
 * batch stopped: last_activity_at is updated on every heartbeat, so it has no index (one would
 * make those updates non-HOT), and the walk reads the table once in all, never from the start
 * per batch. Row locks only, each held for one short statement.
 */
export async function deleteExpiredSessions(transaction: Transaction, cutoff: Date): Promise<number> {
  let after = '00000000-0000-0000-0000-000000000000'
  let total = 0
  for (;;) {
    const [row] = await transaction(async (q) => {
      await q(LOCK_TIMEOUT)
      return q<{ n: number; last: string | null; scanned: number }>(
        `with batch as (
           select id, last_activity_at < $1 as expired from analytics_sessions
           where id > $2 order by id limit ${DELETE_BATCH}
         ), gone as (
           delete from analytics_sessions s using batch b
           where s.id = b.id and b.expired and s.last_activity_at < $1 returning 1)
         select (select count(*)::int from gone) as n, (select id::text from batch order by id desc limit 1) as last,
                (select count(*)::int from batch) as scanned`,
        [cutoff.toISOString(), after],
      )
    })
    total += row?.n ?? 0
    if (!row?.last || row.scanned < DELETE_BATCH) return total
    after = row.last
  }
}
