import { rowsOf } from '@bio/service-kit'
import { sql } from 'drizzle-orm'
import { beforeAll, describe, expect, it } from 'vitest'
import {
  type LeaveItem,
  type PageViewItem,
  writeLeaves,
  writePageViews,
} from '../src/ingest/pageview-writers.js'
import { PartitionRouter } from '../src/ingest/partition-router.js'
import { isoMicros } from '../src/lib/clock.js'
import { uuidV7, uuidV7Instant } from '../src/lib/uuid-v7.js'
import { createSession, leave, recordPageView, testClock, useAnalyticsHarness } from './helper.js'

/**
 * The PartitionRouter decides whether a pageview or leave statement names its month's partition
 * or the parent. It must name a partition only once PostgreSQL's statistics show rows there (a
 * plan made from an empty partition's statistics scans it sequentially; see partition-router.ts),
 * and what it writes through a partition must be exactly what it writes through the parent.
 * Each test has months of its own, so the tests run in any order.
 */

const h = useAnalyticsHarness({ app: false })
const db = () => h.database.db
const exec = async <T>(query: ReturnType<typeof sql>) => rowsOf<T>(await db().execute(query))

/** A session row, made directly (these tests call the writers, not the routes). */
async function insertSession(at: number): Promise<string> {
  const id = uuidV7(at)
  await exec(sql`insert into analytics_sessions (id, visitor_id, started_at, last_activity_at)
    values (${id}, ${`visitor-${id}`}, ${isoMicros(at)}, ${isoMicros(at)})`)
  return id
}

/** Creates the partition of `month` (YYYY-MM) with `rows` pageviews in it, analysed when `analyse`. */
async function monthWithRows(month: string, rows: number, analyse = true): Promise<string> {
  const [row] = await exec<{ name: string }>(
    sql`select analytics_pageviews_add_partition(${`${month}-01T00:00:00Z`}::timestamptz) as name`,
  )
  const name = row!.name
  // Where autovacuum runs, it must not analyse a partition this test means to leave without statistics.
  if (!analyse) await exec(sql.raw(`alter table "${name}" set (autovacuum_enabled = false)`))
  if (rows > 0) {
    const session = await insertSession(Date.parse(`${month}-01T00:00:00Z`))
    await exec(sql`insert into analytics_pageviews (session_id, path, entered_at)
      select ${session}, '/filler/' || g, ${`${month}-02T00:00:00Z`}::timestamptz + g * interval '1 second'
      from generate_series(1, ${rows}) g`)
  }
  if (analyse) await exec(sql.raw(`analyze "${name}"`))
  return name
}

/** `[from, to, at]` for tableFor: a second of rows in `month`, arriving at its end. */
const range = (month: string, day = 15) => {
  const from = Date.parse(`${month}-${day}T12:00:00Z`)
  return [from, from + 1000, from + 1000] as const
}

/** Counts the reads tableFor starts (read() itself answers a read in progress). */
class CountingRouter extends PartitionRouter {
  reads = 0
  override read(name: string): Promise<void> {
    this.reads++
    return super.read(name)
  }
}

describe('PartitionRouter', () => {
  it('names no partition without statistics, none that does not exist, and none for a range over two months', async () => {
    const fresh = await monthWithRows('2025-01', 500, false)
    const router = new PartitionRouter(db(), { minRows: 100 })
    expect(router.tableFor(...range('2025-01'))).toBeUndefined()
    await router.read(fresh)
    // Never analysed: reltuples is -1, whatever the table holds.
    expect(router.tableFor(...range('2025-01'))).toBeUndefined()

    // A month no test of this file makes a partition for.
    await router.read('analytics_pageviews_y2031m01')
    expect(router.tableFor(...range('2031-01'))).toBeUndefined()

    await monthWithRows('2025-02', 500)
    await router.read('analytics_pageviews_y2025m02')
    expect(router.tableFor(...range('2025-02'))).toBe('analytics_pageviews_y2025m02')
    const endOfJanuary = Date.parse('2025-01-31T23:59:59Z')
    expect(router.tableFor(endOfJanuary, endOfJanuary + 2000, endOfJanuary + 2000)).toBeUndefined()
    expect(router.stats).toEqual({ partition: 1, parent: 4, missing: 0 })
  })

  it('names a partition once its statistics count minRows rows, read again only after refreshMs', async () => {
    const name = await monthWithRows('2025-03', 50)
    const start = 0
    let now = start
    const router = new CountingRouter(db(), { minRows: 100, refreshMs: 60_000, now: () => now })
    expect(router.tableFor(...range('2025-03'))).toBeUndefined()
    expect(router.reads).toBe(1)
    await router.read(name) // the read tableFor started
    expect(router.tableFor(...range('2025-03'))).toBeUndefined() // 50 rows < 100

    await monthWithRows('2025-03', 100) // 150 rows now, analysed
    now = start + 59_999
    expect(router.tableFor(...range('2025-03'))).toBeUndefined()
    expect(router.reads).toBe(2) // no new read started by that lookup
    now = start + 60_000
    expect(router.tableFor(...range('2025-03'))).toBeUndefined() // answers from what it knew...
    expect(router.reads).toBe(3) // ...and started a read
    await router.read(name)
    expect(router.tableFor(...range('2025-03'))).toBe(name)
  })

  it('a partition that turns out missing: the write goes through the parent, and the partition is named no more', async () => {
    const name = await monthWithRows('2025-04', 200)
    const router = new PartitionRouter(db(), { minRows: 100 })
    await router.read(name)
    expect(router.tableFor(...range('2025-04'))).toBe(name)
    // A read still running when missing() is said cannot undo it.
    const stale = router.read(name)
    router.missing(name)
    await stale
    expect(router.tableFor(...range('2025-04'))).toBeUndefined()
    await router.read(name)
    expect(router.tableFor(...range('2025-04'))).toBe(name)
    await exec(sql.raw(`alter table analytics_pageviews detach partition "${name}"`))
    await exec(sql.raw(`drop table "${name}"`))

    const at = Date.parse('2025-04-20T10:00:00Z')
    const session = await insertSession(at)
    const id = uuidV7(at + 1000)
    const before = { ...router.stats }
    const ids = await writePageViews(db(), [view(id, session)], router)
    expect(ids).toEqual([id])
    const [row] = await exec<{ part: string }>(
      sql`select tableoid::regclass::text as part from analytics_pageviews where id = ${id}`,
    )
    expect(row?.part).toBe('analytics_pageviews_default')
    // The batch ran on the parent, and is counted there.
    expect(router.stats).toEqual({
      partition: before.partition,
      parent: before.parent + 1,
      missing: before.missing + 1,
    })
    expect(router.tableFor(...range('2025-04'))).toBeUndefined()
  })

  it('looks up only the month a batch arrived in and the one before: a client id of any other month costs no read', async () => {
    await monthWithRows('2024-06', 200)
    const router = new CountingRouter(db(), { minRows: 100 })
    await router.read('analytics_pageviews_y2024m06')
    router.reads = 0
    const arrived = Date.parse('2025-08-20T12:00:00Z')
    const [from, to] = range('2024-06')
    expect(router.tableFor(from, to, arrived)).toBeUndefined() // qualifies, but is not current
    const farFuture = Date.parse('9999-12-31T00:00:00Z')
    expect(router.tableFor(farFuture, farFuture + 1, arrived)).toBeUndefined()
    expect(router.reads).toBe(0)
    // The previous month and the current one are looked up.
    for (const month of ['2025-07', '2025-08']) {
      const [monthFrom, monthTo] = range(month)
      router.tableFor(monthFrom, monthTo, arrived)
    }
    expect(router.reads).toBe(2)
  })

  it('a pageview whose back-fill look-back crosses into the month before goes through the parent and back-fills there', async () => {
    const july = await monthWithRows('2025-07', 200)
    const august = await monthWithRows('2025-08', 200)
    const router = new PartitionRouter(db(), { minRows: 100 })
    await router.read(july)
    await router.read(august)
    const now = Date.parse('2025-08-01T00:10:00Z')
    const session = await insertSession(Date.parse('2025-07-31T23:00:00Z'))
    const last = uuidV7(Date.parse('2025-07-31T23:50:00Z'))
    const next = uuidV7(Date.parse('2025-08-01T00:10:00Z'))
    expect(await writePageViews(db(), [view(last, session)], router)).toEqual([last])
    expect(router.stats).toEqual({ partition: 1, parent: 0, missing: 0 }) // July's own partition
    expect(await writePageViews(db(), [view(next, session)], router)).toEqual([next])
    expect(router.stats).toEqual({ partition: 1, parent: 1, missing: 0 }) // look-back into July: the parent
    await writeLeaves(db(), [{ id: next, duration: 5, scrollDepth: null, at: isoMicros(now + 6000) }], router)
    expect(router.stats).toEqual({ partition: 2, parent: 1, missing: 0 }) // the leave: August's partition
    const rows = await exec<{ id: string; duration: number; part: string }>(
      sql`select id::text as id, duration, tableoid::regclass::text as part from analytics_pageviews
          where session_id = ${session} order by entered_at`,
    )
    expect(rows).toEqual([
      { id: last, duration: 1200, part: july },
      { id: next, duration: 5, part: august },
    ])
  })

  it('writes through the month partition store exactly what writes through the parent store', async () => {
    const name = await monthWithRows('2025-05', 200)
    const router = new PartitionRouter(db(), { minRows: 100 })
    await router.read(name)
    const t0 = Date.parse('2025-05-10T08:00:00Z')

    /** The same story for one session: two views 30 s apart, a retried view, two leaves of the second. */
    async function story(via: PartitionRouter | undefined) {
      const session = await insertSession(t0)
      const first = uuidV7(t0 + 1000)
      const second = uuidV7(t0 + 31_000)
      expect(await writePageViews(db(), [view(first, session)], via)).toEqual([first])
      expect(await writePageViews(db(), [view(second, session)], via)).toEqual([second])
      // A retry of the second: the same answer, no second row, no second count.
      expect(await writePageViews(db(), [view(second, session)], via)).toEqual([second])
      // A view id that belongs to another session: a silent null.
      const other = await insertSession(t0)
      expect(await writePageViews(db(), [view(second, other)], via)).toEqual([null])
      const leaveOf = (duration: number, scrollDepth: number | null): LeaveItem => ({
        id: second,
        duration,
        scrollDepth,
        at: isoMicros(t0 + 45_000),
      })
      await writeLeaves(db(), [leaveOf(8, 50)], via)
      await writeLeaves(db(), [leaveOf(9, null)], via) // replaces the first: the session adds 9, not 17
      const [s] = await exec<Record<string, unknown>>(
        sql`select page_views, bounced, duration from analytics_sessions where id = ${session}`,
      )
      const views = await exec<Record<string, unknown>>(
        sql`select path, duration, scroll_depth, leave_seconds, tableoid::regclass::text as part
            from analytics_pageviews where session_id = ${session} order by entered_at`,
      )
      return { session: s, views }
    }

    const before = { ...router.stats }
    const direct = await story(router)
    expect(router.stats.partition - before.partition).toBe(6) // four pageview statements, two leaves
    expect(router.stats.parent).toBe(before.parent)
    const parent = await story(undefined)
    expect(direct).toEqual(parent)
    expect(direct.session).toEqual({ page_views: 2, bounced: false, duration: 9 })
    expect(direct.views).toEqual([
      { path: '/story', duration: 30, scroll_depth: null, leave_seconds: null, part: name },
      { path: '/story', duration: 9, scroll_depth: 50, leave_seconds: 9, part: name },
    ])
  })
})

function view(id: string, sessionId: string): PageViewItem {
  return {
    id,
    sessionId,
    path: '/story',
    title: null,
    referrer: null,
    linkClicked: null,
    enteredAt: isoMicros(uuidV7Instant(id)!),
  }
}

describe('the service routes pageviews and leaves through its router', () => {
  const NOW = Date.parse('2025-06-15T12:00:00Z')
  const clock = testClock(NOW)
  let name: string

  beforeAll(async () => {
    // More rows than the default threshold asks, analysed as autovacuum would.
    name = await monthWithRows('2025-06', 10_500)
  })

  it('names the month partition once it has read its statistics', async () => {
    const app = await h.build({ now: clock.nowMs })
    try {
      const session = await createSession(app)
      await recordPageView(app, session) // through the parent; starts the statistics read
      await app.ingest.partitions.read(name)
      const before = { ...app.ingest.partitions.stats }
      clock.advance(20_000)
      const viewId = await recordPageView(app, session)
      expect((await leave(app, viewId, { duration: 12, scrollDepth: 40 })).statusCode).toBe(200)
      expect(app.ingest.partitions.stats.partition - before.partition).toBe(2)
      const rows = await exec<{ part: string; duration: number | null }>(
        sql`select tableoid::regclass::text as part, duration from analytics_pageviews
            where session_id = ${session} order by entered_at`,
      )
      // The first view got its duration back-filled by the second view's statement on the partition.
      expect(rows.map((r) => r.part)).toEqual([name, name])
      expect(rows[0]!.duration).toBeCloseTo(20, 3)
      expect(rows[1]!.duration).toBe(12)
    } finally {
      await app.close()
    }
  })
})
