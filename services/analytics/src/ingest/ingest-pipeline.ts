import { type Db, isTransient } from '@bio/service-kit'
import type { FastifyBaseLogger } from 'fastify'
import type { IngestConfig } from '../config.js'
import type { AnalyticsSchema } from '../db/schema.js'
import type { BatcherStats } from './batcher.js'
import { Breaker } from './breaker.js'
import { LanedBatcher } from './lanes.js'
import { type LeaveItem, type PageViewItem, writeLeaves, writePageViews } from './pageview-writers.js'
import { PartitionRouter } from './partition-router.js'
import {
  type HeartbeatItem,
  type IdentifyItem,
  type SessionRow,
  writeHeartbeats,
  writeIdentifies,
  writeSessions,
} from './session-writers.js'

/** A write with nothing to return: each item is answered `true` once the batch has committed. */
const acknowledged =
  <T>(write: (items: T[]) => Promise<void>) =>
  async (items: T[]): Promise<true[]> => {
    await write(items)
    return items.map(() => true as const)
  }

/**
 * The write path: per kind of write, `config.lanes` group-commit batchers over one database, and
 * one breaker they share (`probe` is the database's cheap round trip). Lanes are keyed by the row
 * a write touches (the session; the pageview for leaves).
 */
export function createIngestPipeline(
  db: Db<AnalyticsSchema>,
  config: IngestConfig,
  log: FastifyBaseLogger,
  probe: () => Promise<void>,
) {
  const { lanes, probeIntervalMs, ...batching } = config
  const breaker = new Breaker({ probe, probeIntervalMs })
  breaker.on('open', () => log.warn('database unavailable: ingest writes answer 503 until a probe succeeds'))
  breaker.on('close', () => log.info('database available again: ingest writes resumed'))
  const common = { ...batching, isTransient, log, breaker }
  // Pageviews and leaves name the month's partition itself once it is safe to (see PartitionRouter).
  const partitions = new PartitionRouter(db)
  const sessions = new LanedBatcher<SessionRow, string | null>(
    lanes,
    {
      ...common,
      name: 'sessions',
      write: (rows) => writeSessions(db, rows),
    },
    (row) => row.id,
  )
  const pageViews = new LanedBatcher<PageViewItem, string | null>(
    lanes,
    {
      ...common,
      name: 'pageviews',
      write: (items) => writePageViews(db, items, partitions),
    },
    (item) => item.sessionId,
  )
  const leaves = new LanedBatcher<LeaveItem, true>(
    lanes,
    {
      ...common,
      name: 'leaves',
      write: acknowledged((items) => writeLeaves(db, items, partitions)),
    },
    (item) => item.id,
  )
  const heartbeats = new LanedBatcher<HeartbeatItem, true>(
    lanes,
    {
      ...common,
      name: 'heartbeats',
      write: acknowledged((items) => writeHeartbeats(db, items)),
    },
    (item) => item.id,
  )
  const identifies = new LanedBatcher<IdentifyItem, true>(
    lanes,
    {
      ...common,
      name: 'identifies',
      write: acknowledged((items) => writeIdentifies(db, items)),
    },
    (item) => item.id,
  )
  const all = { sessions, pageViews, leaves, heartbeats, identifies }
  return {
    ...all,
    breaker,
    partitions,
    /** Counters of every batcher, for metrics and the benchmark. */
    stats: (): Record<string, BatcherStats> =>
      Object.fromEntries(Object.entries(all).map(([k, b]) => [k, { ...b.stats }])),
    /** Flushes everything queued (graceful shutdown). */
    close: async () => {
      await Promise.all(Object.values(all).map((b) => b.close()))
      breaker.stop()
    },
  }
}
export type IngestPipeline = ReturnType<typeof createIngestPipeline>
