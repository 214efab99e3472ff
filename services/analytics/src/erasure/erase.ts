import { AppError, CommonErrors } from '@bio/contracts'
import { rowsOf, sqlState } from '@bio/service-kit'
import { type SQL, sql } from 'drizzle-orm'
import type { AnalyticsDb } from '../ingest/writers.js'
import { json } from '../ingest/writers.js'
import { sessionTombstone, TOMBSTONE_TTL_MS, visitorTombstone } from '../lib/erasure-digest.js'

/** What an erasure removed: sessions and pageviews deleted, and (forget) user sessions detached from the visitor. */
export interface ErasureCounts {
  sessions: number
  pageviews: number
}
export interface ForgetCounts extends ErasureCounts {
  detached: number
}

/**
 * How long an erasure waits for the ingest writes in flight. Every ingest statement holds ROW
 * EXCLUSIVE on analytics_sessions until its batch commits (milliseconds); an erasure that cannot
 * get its lock within this answers 503 and is retried, rather than queueing ingest behind it.
 */
export const ERASURE_LOCK_TIMEOUT = '2s'

/** A transaction of the analytics database (the erasure's, the export's). */
export type AnalyticsTx = Parameters<Parameters<AnalyticsDb['transaction']>[0]>[0]
type Tx = AnalyticsTx

const count = async (tx: Tx, query: SQL): Promise<number> =>
  rowsOf<{ n: number }>(await tx.execute(query))[0]?.n ?? 0

/**
 * Runs `erase` in one transaction that first takes SHARE ROW EXCLUSIVE on analytics_sessions.
 * That mode conflicts with the ROW EXCLUSIVE every ingest write takes on the table (session
 * insert, pageview insert with its session update, leave, heartbeat, identify), so a write already
 * running commits before the erasure reads, and one that starts later waits for the erasure's
 * commit and then sees the deletions and the tombstones: no write interleaves with it. Erasures
 * serialise with each other too. Expired tombstones are pruned here.
 */
async function eraseLocked<T>(db: AnalyticsDb, now: number, erase: (tx: Tx) => Promise<T>): Promise<T> {
  try {
    return await db.transaction(async (tx) => {
      await tx.execute(sql.raw(`set local lock_timeout = '${ERASURE_LOCK_TIMEOUT}'`))
      await tx.execute(sql`lock table analytics_sessions in share row exclusive mode`)
      const result = await erase(tx)
      await tx.execute(sql`delete from analytics_erasures where expires_at < ${new Date(now).toISOString()}`)
      return result
    })
  } catch (err) {
    // 55P03: the lock was not granted in time (a long ingest batch, another erasure): retry.
    if (sqlState(err) === '55P03')
      throw new AppError(CommonErrors.SERVICE_UNAVAILABLE, { headers: { 'retry-after': '2' }, cause: err })
    throw err
  }
}

async function addTombstones(tx: Tx, digests: string[], now: number): Promise<void> {
  if (digests.length === 0) return
  const expires = new Date(now + TOMBSTONE_TTL_MS).toISOString()
  await tx.execute(sql`
    insert into analytics_erasures (digest, expires_at)
    select value, ${expires}::timestamptz from json_array_elements_text(${json(digests)})
    on conflict (digest) do update set expires_at = excluded.expires_at`)
}

/** Deletes the sessions `where` selects and their pageviews; returns the ids and counts. */
async function deleteSessions(tx: Tx, where: SQL): Promise<ErasureCounts & { ids: string[] }> {
  // By session_id: the pageview key on either layout (one table or partitions by month).
  const pageviews = await count(
    tx,
    sql`with d as (delete from analytics_pageviews where session_id in (select id from analytics_sessions s where ${where}) returning 1)
        select count(*)::int as n from d`,
  )
  const ids = rowsOf<{ id: string }>(
    await tx.execute(sql`delete from analytics_sessions s where ${where} returning id::text as id`),
  ).map((r) => r.id)
  return { sessions: ids.length, pageviews, ids }
}

/** Erases every session bound to `userId` and their pageviews, in one transaction. */
export async function eraseUser(db: AnalyticsDb, secret: string, userId: string, now: number) {
  return eraseLocked(db, now, async (tx): Promise<ErasureCounts> => {
    const { ids, ...counts } = await deleteSessions(tx, sql`s.user_id = ${userId}`)
    await addTombstones(
      tx,
      ids.map((id) => sessionTombstone(secret, id)),
      now,
    )
    return counts
  })
}

/**
 * Forgets a visitor (its stored hash): deletes its anonymous sessions and their pageviews, and
 * detaches the sessions already bound to a user (they stay that user's, erasable with DELETE /me,
 * but no longer carry the visitor hash: it becomes `forgotten:<session id>`, which counts as a
 * visitor of its own). Then no row holds the hash, and the visitor's tombstone keeps a late write
 * from bringing it back.
 */
export async function forgetVisitor(db: AnalyticsDb, secret: string, visitorHash: string, now: number) {
  return eraseLocked(db, now, async (tx): Promise<ForgetCounts> => {
    const { ids, ...counts } = await deleteSessions(
      tx,
      sql`s.visitor_id = ${visitorHash} and s.user_id is null`,
    )
    const detached = await count(
      tx,
      sql`with u as (update analytics_sessions set visitor_id = 'forgotten:' || id::text
                     where visitor_id = ${visitorHash} returning 1)
          select count(*)::int as n from u`,
    )
    await addTombstones(
      tx,
      [visitorTombstone(secret, visitorHash), ...ids.map((id) => sessionTombstone(secret, id))],
      now,
    )
    return { ...counts, detached }
  })
}
