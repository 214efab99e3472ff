import { type Db, isTransient } from '@bio/shared'
import type { FastifyBaseLogger } from 'fastify'
import type { IngestConfig } from '../config.js'
import type { AnalyticsSchema } from '../db/schema.js'
import { Batcher, type BatcherStats } from './batcher.js'
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

/** The write path: one group-commit batcher per kind of write, all over one database. */
export function createIngestPipeline(db: Db<AnalyticsSchema>, config: IngestConfig, log: FastifyBaseLogger) {
  const common = { ...config, isTransient, log }
  const sessions = new Batcher<SessionRow, string | null>({
    ...common,
    name: 'sessions',
    fallback: null,
    write: (rows) => writeSessions(db, rows),
  })
  const pageViews = new Batcher<PageViewItem, string | null>({
    ...common,
    name: 'pageviews',
    fallback: null,
    write: (items) => writePageViews(db, items),
  })
  const leaves = new Batcher<LeaveItem, true>({
    ...common,
    name: 'leaves',
    fallback: true,
    write: acknowledged((items) => writeLeaves(db, items)),
  })
  const heartbeats = new Batcher<string, true>({
    ...common,
    name: 'heartbeats',
    fallback: true,
    write: acknowledged((ids) => writeHeartbeats(db, ids)),
  })
  const identifies = new Batcher<IdentifyItem, true>({
    ...common,
    name: 'identifies',
    fallback: true,
    write: acknowledged((items) => writeIdentifies(db, items)),
  })
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
