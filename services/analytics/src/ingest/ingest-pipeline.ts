import { type Db, isTransient } from '@bio/shared'
import type { FastifyBaseLogger } from 'fastify'
import type { IngestConfig } from '../config.js'
import type { AnalyticsSchema } from '../db/schema.js'
import type { BatcherStats } from './batcher.js'
import { LanedBatcher } from './lanes.js'
import {
  type IdentifyItem,
  type LeaveItem,
  type PageViewItem,
  type SessionRow,
  writeHeartbeats,
  writeIdentifies,
  writeLeaves,
  writePageViews,
  writeSessions,
} from './writers.js'

/** A write with nothing to return: each item is answered `true` once the batch has committed. */
const acknowledged =
  <T>(write: (items: T[]) => Promise<void>) =>
  async (items: T[]): Promise<true[]> => {
    await write(items)
    return items.map(() => true as const)
  }

/**
 * The write path: per kind of write, `config.lanes` group-commit batchers over one database.
 * Lanes are keyed by the row a write touches (the session; the pageview for leaves).
 */
export function createIngestPipeline(db: Db<AnalyticsSchema>, config: IngestConfig, log: FastifyBaseLogger) {
  const { lanes, ...batching } = config
  const common = { ...batching, isTransient, log }
  const sessions = new LanedBatcher<SessionRow, string | null>(
    lanes,
    {
      ...common,
      name: 'sessions',
      fallback: null,
      write: (rows) => writeSessions(db, rows),
    },
    (row) => row.id,
  )
  const pageViews = new LanedBatcher<PageViewItem, string | null>(
    lanes,
    {
      ...common,
      name: 'pageviews',
      fallback: null,
      write: (items) => writePageViews(db, items),
    },
    (item) => item.sessionId,
  )
  const leaves = new LanedBatcher<LeaveItem, true>(
    lanes,
    {
      ...common,
      name: 'leaves',
      fallback: true,
      write: acknowledged((items) => writeLeaves(db, items)),
    },
    (item) => item.id,
  )
  const heartbeats = new LanedBatcher<string, true>(
    lanes,
    {
      ...common,
      name: 'heartbeats',
      fallback: true,
      write: acknowledged((ids) => writeHeartbeats(db, ids)),
    },
    (id) => id,
  )
  const identifies = new LanedBatcher<IdentifyItem, true>(
    lanes,
    {
      ...common,
      name: 'identifies',
      fallback: true,
      write: acknowledged((items) => writeIdentifies(db, items)),
    },
    (item) => item.id,
  )
  const all = { sessions, pageViews, leaves, heartbeats, identifies }
  return {
    ...all,
    /** Counters of every batcher, for metrics and the benchmark. */
    stats: (): Record<string, BatcherStats> =>
      Object.fromEntries(Object.entries(all).map(([k, b]) => [k, { ...b.stats }])),
    /** Flushes everything queued (graceful shutdown). */
    close: async () => {
      await Promise.all(Object.values(all).map((b) => b.close()))
    },
  }
}
export type IngestPipeline = ReturnType<typeof createIngestPipeline>
