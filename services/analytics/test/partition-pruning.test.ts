import { rowsOf } from '@bio/service-kit'
import { type SQL, sql } from 'drizzle-orm'
import { PgDialect } from 'drizzle-orm/pg-core'
import postgres from 'postgres'
import { beforeAll, describe, expect, it } from 'vitest'
import {
  leavesStatement,
  pageViewOwnersStatement,
  pageViewsStatement,
} from '../src/ingest/pageview-writers.js'
import { isoMicros } from '../src/lib/clock.js'
import { uuidV7, uuidV7Instant } from '../src/lib/uuid-v7.js'
import {
  type AnalyticsApp,
  createSession,
  pageViewRow,
  recordPageView,
  testClock,
  useAnalyticsHarness,
} from './helper.js'

/**
 * No write looks in every partition: with thirteen month partitions holding rows, EXPLAIN ANALYZE
 * of each ingest statement shows the pageview partitions it really read (scan nodes executed at
 * least once; the others are pruned at plan or run time). Counted, not timed.
 */

const h = useAnalyticsHarness({ app: false })
let app: AnalyticsApp
const NOW = Date.parse('2026-11-15T12:00:00Z')
const clock = testClock(NOW)
let sessionId: string

beforeAll(async () => {
  app = await h.build({ now: clock.nowMs })
  await h.database.db.execute(sql`select analytics_pageviews_add_partition(m)
    from generate_series(timestamptz '2025-11-01Z', timestamptz '2026-11-01Z', interval '1 month') m`)
  sessionId = await createSession(app)
  // Rows in every month, so that no partition is empty.
  await h.database.db.execute(sql`insert into analytics_pageviews (session_id, path, entered_at)
    select ${sessionId}, '/old/' || g, timestamptz '2025-11-03Z' + g * interval '1 day'
    from generate_series(0, 360) g`)
})

interface PlanNode {
  'Node Type': string
  'Relation Name'?: string
  'Actual Loops'?: number
  Plans?: PlanNode[]
}

/** The pageview partitions `statement` read, by EXPLAIN ANALYZE in a transaction rolled back. */
async function partitionsRead(statement: SQL): Promise<{ read: string[]; planned: number }> {
  const read = new Set<string>()
  let planned = 0
  const walk = (node: PlanNode) => {
    const name = node['Relation Name']
    if (name?.startsWith('analytics_pageviews_') && /Scan/.test(node['Node Type'])) {
      planned++
      if ((node['Actual Loops'] ?? 0) > 0) read.add(name)
    }
    for (const child of node.Plans ?? []) walk(child)
  }
  await h.database.db
    .transaction(async (tx) => {
      const [row] = rowsOf<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(
        await tx.execute(sql`explain (analyze, format json) ${statement}`),
      )
      walk(row!['QUERY PLAN'][0].Plan)
      tx.rollback()
    })
    .catch((err: Error) => {
      if (!/rollback/i.test(err.message)) throw err
    })
  return { read: [...read].sort(), planned }
}

const partitionCount = async () =>
  rowsOf<{ n: number }>(
    await h.database.db.execute(
      sql`select count(*)::int as n from pg_inherits where inhparent = 'analytics_pageviews'::regclass`,
    ),
  )[0]!.n

/**
 * The pageview tables (parent and partitions, not indexes) a prepared statement's generic plan
 * locks, as the service runs it: on a connection of its own, in a transaction rolled back.
 */
async function tablesLocked(statement: SQL): Promise<string[]> {
  const { sql: text, params } = new PgDialect().sqlToQuery(statement)
  const client = postgres(h.testDb.url, { max: 1, onnotice: () => {} })
  // As drizzle's postgres.js driver does: the writers send JSON already serialised.
  for (const oid of [114, 3802]) client.options.serializers[oid] = (x: unknown) => x as string
  try {
    return await client
      .begin(async (tx) => {
        await tx`set local plan_cache_mode = force_generic_plan`
        await tx.unsafe(text, params as never[], { prepare: true })
        const rows = await tx<{ name: string }[]>`
          select distinct c.relname as name from pg_locks l join pg_class c on c.oid = l.relation
          where l.pid = pg_backend_pid() and c.relkind in ('r', 'p') and c.relname like 'analytics\\_pageviews\\_%'
          order by 1`
        throw Object.assign(new Error('rollback'), { rows: rows.map((r) => r.name) })
      })
      .catch((err: { rows?: string[] }) => {
        if (!err.rows) throw err
        return err.rows
      })
  } finally {
    await client.end()
  }
}

describe('partition pruning of the ingest statements (EXPLAIN ANALYZE)', () => {
  it('has thirteen month partitions and the default one, all holding rows', async () => {
    expect(await partitionCount()).toBeGreaterThanOrEqual(14)
  })

  it("a leave reads only its view's partition, found from the UUIDv7", async () => {
    const viewId = await recordPageView(app, sessionId)
    const at = isoMicros(NOW + 10_000)
    const plan = await partitionsRead(leavesStatement([{ id: viewId, duration: 10, scrollDepth: null, at }]))
    expect(plan.read).toEqual(['analytics_pageviews_y2026m11'])
  })

  it('a pageview reads only the recent partition: the insert, the back-fill probe and its update', async () => {
    clock.advance(5_000)
    const id = uuidV7(clock.nowMs())
    const item = {
      id,
      sessionId,
      path: '/next',
      title: null,
      referrer: null,
      linkClicked: null,
      enteredAt: isoMicros(uuidV7Instant(id)!),
    }
    expect((await partitionsRead(pageViewsStatement([item]))).read).toEqual(['analytics_pageviews_y2026m11'])
    // Without the 3600 s bound the probe would read back through the older months.
    const owners = await partitionsRead(pageViewOwnersStatement([id], [item]))
    expect(owners.read).toEqual(['analytics_pageviews_y2026m11'])
  })

  it('a leave for a legacy (UUIDv4) view reads only the partitions of the last day', async () => {
    const legacy = '3f1c2b9e-8d7a-4c6b-9a5f-2e1d0c9b8a7f'
    await h.database.db.execute(sql`insert into analytics_pageviews (id, session_id, path, entered_at)
      values (${legacy}, ${sessionId}, '/legacy', ${isoMicros(NOW - 3_600_000)})`)
    const at = isoMicros(NOW)
    const plan = await partitionsRead(leavesStatement([{ id: legacy, duration: 30, scrollDepth: 50, at }]))
    expect(plan.read).toEqual(['analytics_pageviews_y2026m11'])
    await app.inject({
      method: 'PATCH',
      url: `/api/v1/analytics/pageview/${legacy}/leave`,
      payload: { duration: 30, scrollDepth: 50 },
    })
    expect(await pageViewRow(h, legacy)).toMatchObject({ duration: 30, scrollDepth: 50 })
  })

  it('named, the month partition is the only pageview table a prepared statement locks; through the parent, every partition', async () => {
    clock.advance(5_000)
    const id = uuidV7(clock.nowMs())
    const item = {
      id,
      sessionId,
      path: '/direct',
      title: null,
      referrer: null,
      linkClicked: null,
      enteredAt: isoMicros(uuidV7Instant(id)!),
    }
    const named = pageViewsStatement([item], 'analytics_pageviews_y2026m11')
    expect((await partitionsRead(named)).read).toEqual(['analytics_pageviews_y2026m11'])
    expect(await tablesLocked(named)).toEqual(['analytics_pageviews_y2026m11'])
    // What the partition router avoids: the generic plan through the parent locks them all.
    const all = await tablesLocked(pageViewsStatement([item]))
    expect(all.length).toBeGreaterThanOrEqual(await partitionCount())
  })

  it('across a month boundary (the look-back reaches the month before) the parent, and the back-fill reaches back', async () => {
    // An app of its own: its clock starts at the boundary (an app's clock never goes back).
    const boundary = testClock(Date.parse('2026-11-30T23:50:00Z'))
    const own = await h.build({ now: boundary.nowMs })
    const session = await createSession(own)
    const last = await recordPageView(own, session)
    boundary.set(Date.parse('2026-12-01T00:10:00Z'))
    const next = await recordPageView(own, session)
    expect((await pageViewRow(h, last))!.duration).toBeCloseTo(1200, 3)
    const res = await own.inject({
      method: 'PATCH',
      url: `/api/v1/analytics/pageview/${next}/leave`,
      payload: { duration: 5 },
    })
    expect(res.statusCode).toBe(200)
    expect((await pageViewRow(h, next))!.duration).toBe(5)
  })
})
