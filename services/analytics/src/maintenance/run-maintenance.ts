import type { DatabaseHandle } from '@bio/service-kit'
import type { AnalyticsSchema } from '../db/schema.js'
import { openMaintenanceSession } from './maintenance-sql.js'
import {
  createMonthPartitions,
  dropExpiredPartitions,
  monthPartitions,
  monthStart,
  moveStrays,
} from './partitions.js'
import { deleteExpiredPageViews, deleteExpiredSessions, deleteExpiredTombstones } from './retention.js'

export interface MaintenanceOptions {
  /** Days of data kept; 0 keeps everything. */
  retentionDays: number
  /** Months after the current one whose partitions exist ahead of time. */
  partitionsAhead: number
  now: Date
}

/** What one run did: counts only, no personal data. */
export interface MaintenanceReport {
  partitionsCreated: number
  strayRowsMoved: number
  partitionsDropped: string[]
  pageViewsDeleted: number
  sessionsDeleted: number
  /** Erasure tombstones past their window. */
  tombstonesDeleted: number
}

const DAY_MS = 86_400_000
/** Any fixed number every instance shares (the migrations use another). */
export const MAINTENANCE_LOCK = 7_240_512
/** One run per process at a time (PGlite's single session would let a second take the lock again). */
const running = new WeakSet<object>()

/** The first instant kept: data entered (sessions: last active) before it is deleted; undefined keeps everything. */
export const retentionCutoff = (now: Date, retentionDays: number): Date | undefined =>
  retentionDays > 0 ? new Date(now.getTime() - retentionDays * DAY_MS) : undefined

/**
 * One maintenance run over the analytics database, serialised across instances by a
 * session-level advisory lock (try-lock: while another instance's run holds it, this one returns
 * `undefined` at once). In order: the partitions of the current month and `partitionsAhead`
 * months exist; the DEFAULT partition is emptied into month partitions; with retention on, the
 * months that end before the cutoff are dropped whole, then the rest of the expired pageviews
 * and the sessions last active before the cutoff are deleted in batches of 1000. Each step runs
 * in short transactions of its own with a lock timeout, so ingest never waits long on it.
 */
export async function runMaintenance(
  database: DatabaseHandle<AnalyticsSchema>,
  options: MaintenanceOptions,
): Promise<MaintenanceReport | undefined> {
  if (running.has(database)) return undefined
  running.add(database)
  const session = await openMaintenanceSession(database).catch((err: unknown) => {
    running.delete(database)
    throw err
  })
  try {
    const [lock] = await session.query<{ locked: boolean }>('select pg_try_advisory_lock($1) as locked', [
      MAINTENANCE_LOCK,
    ])
    if (!lock?.locked) return undefined
    try {
      return await maintain(session.query, session.transaction.bind(session), options)
    } finally {
      await session.query('select pg_advisory_unlock($1)', [MAINTENANCE_LOCK])
    }
  } finally {
    await session.release()
    running.delete(database)
  }
}

async function maintain(
  query: Parameters<typeof monthPartitions>[0],
  transaction: Parameters<typeof moveStrays>[0],
  { retentionDays, partitionsAhead, now }: MaintenanceOptions,
): Promise<MaintenanceReport> {
  const cutoff = retentionCutoff(now, retentionDays)
  // Strays first: a month's partition cannot be attached while the default holds its rows (the
  // creation moves those that arrive meanwhile too).
  const strays = await moveStrays(transaction, query, cutoff ?? new Date(0))
  const ahead = await createMonthPartitions(
    transaction,
    await monthPartitions(query),
    monthStart(now),
    monthStart(now, partitionsAhead),
  )
  const partitionsCreated = strays.created + ahead.created
  const strayRowsMoved = strays.moved + ahead.moved
  const tombstonesDeleted = await deleteExpiredTombstones(transaction, now)
  if (!cutoff)
    return {
      partitionsCreated,
      strayRowsMoved,
      partitionsDropped: [],
      pageViewsDeleted: 0,
      sessionsDeleted: 0,
      tombstonesDeleted,
    }
  const partitionsDropped = await dropExpiredPartitions(transaction, await monthPartitions(query), cutoff)
  const pageViewsDeleted = await deleteExpiredPageViews(transaction, cutoff)
  const sessionsDeleted = await deleteExpiredSessions(transaction, cutoff)
  return {
    partitionsCreated,
    strayRowsMoved,
    partitionsDropped,
    pageViewsDeleted,
    sessionsDeleted,
    tombstonesDeleted,
  }
}
