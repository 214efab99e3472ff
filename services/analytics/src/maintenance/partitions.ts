import { sqlState } from '@bio/service-kit'
import type { Query } from './maintenance-sql.js'

/**
 * The month partitions of analytics_pageviews (migration 0004): one per calendar month (UTC),
 * named analytics_pageviews_yYYYYmMM and created by the database function
 * analytics_pageviews_add_partition, plus analytics_pageviews_default for rows of a month that
 * has none yet.
 */

export const DEFAULT_PARTITION = 'analytics_pageviews_default'
/**
 * Every DDL transaction starts by locking analytics_sessions against writes (SHARE ROW EXCLUSIVE,
 * which ATTACH and DROP need anyway for the foreign key's triggers), before any pageview
 * partition: ingest statements lock analytics_sessions before the pageview partitions too (a
 * plan's startup locks, then the insert's routing), so neither waits for the other in a cycle.
 * The waits are short (ingest statements take milliseconds) and bounded: a DDL statement gives
 * up after 500 ms, less than PostgreSQL's deadlock_timeout (1 s by default), so should a cycle
 * form after all, the DDL's wait ends first and ingest goes on; the transaction is tried again.
 */
export const LOCK_TIMEOUT = `set local lock_timeout = '500ms'`
const LOCK_SESSIONS = 'lock table analytics_sessions in share row exclusive mode'
/** Attempts of one DDL transaction that lost its lock wait; then the run fails and the next one tries again. */
const DDL_ATTEMPTS = 10

type Transaction = <T>(fn: (q: Query) => Promise<T>) => Promise<T>

/** `fn` in a transaction with LOCK_TIMEOUT, tried again when it gave up waiting for a lock (55P03) or lost a deadlock. */
export async function ddlTransaction<T>(transaction: Transaction, fn: (q: Query) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await transaction(async (q) => {
        await q(LOCK_TIMEOUT)
        await q(LOCK_SESSIONS)
        return fn(q)
      })
    } catch (err) {
      const state = sqlState(err)
      if (attempt >= DDL_ATTEMPTS || (state !== '55P03' && state !== '40P01')) throw err
    }
  }
}
const NAME = /^analytics_pageviews_y(\d{4})m(\d{2})$/

/** The first instant of `at`'s month (UTC), `months` later (negative: earlier). */
export const monthStart = (at: Date, months = 0): Date =>
  new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + months, 1))

/** The name of the partition of `at`'s month (UTC): analytics_pageviews_yYYYYmMM. */
export const monthPartitionName = (at: Date): string =>
  `analytics_pageviews_y${at.getUTCFullYear()}m${String(at.getUTCMonth() + 1).padStart(2, '0')}`

export interface MonthPartition {
  name: string
  from: Date
  to: Date
}

/** The month partitions that exist, oldest first. */
export async function monthPartitions(query: Query): Promise<MonthPartition[]> {
  const rows = await query<{ name: string }>(
    `select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid
     where i.inhparent = 'public.analytics_pageviews'::regclass`,
  )
  return rows
    .flatMap(({ name }) => {
      const m = NAME.exec(name)
      if (!m) return []
      const from = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, 1))
      return [{ name, from, to: monthStart(from, 1) }]
    })
    .sort((a, b) => a.from.getTime() - b.from.getTime())
}

/**
 * Creates the partition of the month starting at `from`, in one transaction, with the rows of that
 * month the DEFAULT partition holds (PostgreSQL refuses to attach while it holds any): they are
 * deleted into a temporary table, the partition created, and they are inserted through the parent,
 * so no reader ever sees a row missing or twice. Returns how many rows moved.
 */
function addPartitionMovingStrays(transaction: Transaction, from: Date): Promise<number> {
  return ddlTransaction(transaction, async (q) => {
    await q(
      `create temporary table pageview_strays on commit drop as
       with moved as (delete from ${DEFAULT_PARTITION} where entered_at >= $1 and entered_at < $2 returning *)
       select * from moved`,
      [from.toISOString(), monthStart(from, 1).toISOString()],
    )
    await q('select analytics_pageviews_add_partition($1)', [from.toISOString()])
    const rows = await q<{ n: number }>(
      `with ins as (insert into analytics_pageviews select * from pageview_strays returning 1)
       select count(*)::int as n from ins`,
    )
    return rows[0]?.n ?? 0
  })
}

/** Creates the partitions of the months from `from` to `through` that are missing; returns how many. */
export async function createMonthPartitions(
  transaction: Transaction,
  existing: MonthPartition[],
  from: Date,
  through: Date,
): Promise<{ created: number; moved: number }> {
  const have = new Set(existing.map((p) => p.from.getTime()))
  let created = 0
  let moved = 0
  for (let m = monthStart(from); m <= through; m = monthStart(m, 1)) {
    if (have.has(m.getTime())) continue
    moved += await addPartitionMovingStrays(transaction, m)
    created++
  }
  return { created, moved }
}

/**
 * Empties the DEFAULT partition into month partitions, one month per transaction
 * (`addPartitionMovingStrays`). Rows before `keepFrom` (expired) are left for the retention
 * delete. Returns how many partitions were created and rows moved.
 */
export async function moveStrays(
  transaction: Transaction,
  query: Query,
  keepFrom: Date,
): Promise<{ created: number; moved: number }> {
  const months = await query<{ month: string }>(
    `select distinct date_trunc('month', entered_at at time zone 'UTC')::text as month
     from ${DEFAULT_PARTITION} where entered_at >= $1 order by 1`,
    [keepFrom.toISOString()],
  )
  let moved = 0
  for (const { month } of months) moved += await addPartitionMovingStrays(transaction, new Date(`${month}Z`))
  return { created: months.length, moved }
}

/** Drops the month partitions that end at or before `cutoff`, each in a short transaction; returns their names. */
export async function dropExpiredPartitions(
  transaction: Transaction,
  existing: MonthPartition[],
  cutoff: Date,
): Promise<string[]> {
  const expired = existing.filter((p) => p.to <= cutoff)
  for (const p of expired) {
    await ddlTransaction(transaction, (q) => q(`drop table "${p.name}"`))
  }
  return expired.map((p) => p.name)
}
