import { executePrepared } from '@bio/service-kit'
import { sql } from 'drizzle-orm'
import { monthPartitionName, monthStart } from '../maintenance/partitions.js'
import type { AnalyticsDb } from './writers.js'

export interface PartitionRouterOptions {
  /** Rows PostgreSQL's statistics must count in a partition before statements name it (default 10,000). */
  minRows?: number
  /** How long what was read of a partition's statistics is used before it is read again (default 60 s). */
  refreshMs?: number
  /** A monotonic clock in milliseconds, for when a read is due (default `performance.now`). */
  now?: () => number
}

/**
 * Pageview and leave batch statements since start by the table they ran on: a month's
 * `partition`, or the `parent`; `missing`: those of them that named a partition that did not
 * exist, and ran on the parent instead.
 */
export interface PartitionRouterStats {
  partition: number
  parent: number
  missing: number
}

interface Known {
  direct: boolean
  readAt: number
  /** Orders what was learnt: a read that started before `missing()` must not undo it. */
  seq: number
}

/**
 * Which table an ingest statement about rows of one month names: the month's partition itself,
 * or the parent `analytics_pageviews`.
 *
 * Through the parent, a prepared statement's generic plan covers every partition: each
 * execution locks all of them (PostgreSQL 15 takes a generic plan's locks before it prunes)
 * and prunes at executor start. With a year of partitions that cost a fifth of the pageview
 * throughput (`npm run bench -- --phase partitions`). Naming the partition plans and locks only it.
 *
 * But a generic plan is made from the statistics the partition has when a connection first
 * prepares the statement, and kept until the next ANALYZE of that table. Made while the month's
 * partition is new (empty, never analysed), it reads the partition by sequential scan (the
 * back-fill's and the leave's updates), which costs more with every row inserted until
 * autovacuum analyses it: in the default benchmark, which starts on a fresh month, pageviews
 * fell to a tenth of their rate. So a partition is named only once its statistics count
 * `minRows` rows: a plan made from those finds rows by index, and later ANALYZEs only replan it
 * with more. Until then, and for a batch that spans two months, statements go through the parent,
 * whose plan is chosen over all partitions and holds up whatever size one of them has.
 *
 * The statistics are read from pg_class off the write path: a lookup answers from what is known
 * and, when that is missing or older than `refreshMs`, starts one read in the background. A
 * partition is therefore first named a moment after it qualifies. Only the month a batch arrived
 * in and the one before it are ever named (and read, and remembered): writes are about recent
 * views, and a leave's month comes from a client's id, which may name any month at all.
 */
export class PartitionRouter {
  readonly stats: PartitionRouterStats = { partition: 0, parent: 0, missing: 0 }
  private readonly known = new Map<string, Known>()
  private readonly reading = new Map<string, Promise<void>>()
  private readonly minRows: number
  private readonly refreshMs: number
  private readonly now: () => number
  private seq = 0

  constructor(
    private readonly db: AnalyticsDb,
    options: PartitionRouterOptions = {},
  ) {
    this.minRows = options.minRows ?? 10_000
    this.refreshMs = options.refreshMs ?? 60_000
    this.now = options.now ?? (() => performance.now())
  }

  /**
   * The partition to name for rows whose `entered_at` lies in `[from, to)` (Unix ms), written by
   * a batch that arrived at `at` (the latest arrival of its items), counted as run there; or
   * undefined for the parent (counted so): when the range spans two months, lies outside the
   * month of `at` and the one before it, or its partition is not (yet) known to qualify.
   */
  tableFor(from: number, to: number, at: number): string | undefined {
    const name = monthPartitionName(new Date(from))
    const current = currentMonths(at)
    const table =
      name === monthPartitionName(new Date(to - 1)) && current.includes(name)
        ? this.lookUp(name, current)
        : undefined
    this.stats[table ? 'partition' : 'parent']++
    return table
  }

  /**
   * A statement naming `name` found no such table (a partition dropped or never made), and runs
   * on the parent instead: counted so, and the parent is used for that month until the next read.
   */
  missing(name: string): void {
    this.stats.missing++
    this.stats.partition--
    this.stats.parent++
    this.known.set(name, { direct: false, readAt: this.now(), seq: ++this.seq })
  }

  /** Reads `name`'s statistics now (one read at a time per partition); after a failed read what was known stays in use. */
  read(name: string): Promise<void> {
    const pending = this.reading.get(name)
    if (pending) return pending
    const seq = ++this.seq
    const learn = (direct: (before?: Known) => boolean) => {
      const before = this.known.get(name)
      if (before && before.seq > seq) return // missing() said otherwise while this read ran
      this.known.set(name, { direct: direct(before), readAt: this.now(), seq })
    }
    const reading = executePrepared<{ rows: number }>(
      this.db,
      sql`select coalesce((select reltuples from pg_class where oid = to_regclass('public.' || ${name}::text)), -1)::float8 as rows`,
    )
      .then(([row]) => learn(() => (row?.rows ?? -1) >= this.minRows))
      // The database is unreachable or busy (the writes' own errors say so): what was known
      // stays in use until the next read is due.
      .catch(() => learn((before) => before?.direct ?? false))
      .finally(() => this.reading.delete(name))
    this.reading.set(name, reading)
    return reading
  }

  /** What is known of `name` (one of the `current` months' partitions), starting a read when that is missing or due. */
  private lookUp(name: string, current: string[]): string | undefined {
    const known = this.known.get(name)
    if (!known || this.now() - known.readAt >= this.refreshMs) {
      for (const other of this.known.keys()) if (!current.includes(other)) this.known.delete(other)
      void this.read(name)
    }
    return known?.direct ? name : undefined
  }
}

/** The partitions of the month of `at` and of the one before it. */
function currentMonths(at: number): string[] {
  const date = new Date(at)
  return [monthPartitionName(date), monthPartitionName(new Date(monthStart(date).getTime() - 1))]
}
