import { rowsOf } from '@bio/service-kit'
import { type SQL, sql } from 'drizzle-orm'
import postgres from 'postgres'
import { describe, expect, it } from 'vitest'
import { openMaintenanceSession } from '../src/maintenance/maintenance-sql.js'
import { deleteExpiredTombstones } from '../src/maintenance/retention.js'
import { MAINTENANCE_LOCK, retentionCutoff, runMaintenance } from '../src/maintenance/run-maintenance.js'
import {
  createSession,
  expectOk,
  heartbeat,
  leave,
  pageViewRow,
  recordPageView,
  testClock,
  useAnalyticsHarness,
  waitFor,
} from './helper.js'

/**
 * The maintenance task on PostgreSQL with an injected clock: partitions ahead, the DEFAULT
 * partition emptied into month partitions, retention (expired months dropped whole, the rest of
 * the expired rows and sessions deleted in batches) while ingest keeps answering, the advisory
 * lock, and the timer in the service.
 */

const h = useAnalyticsHarness({ app: false })

const query = async <T>(q: SQL) => rowsOf<T>(await h.database.db.execute(q))
const partitions = async () =>
  (
    await query<{ name: string }>(sql`
      select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid
      where i.inhparent = 'analytics_pageviews'::regclass order by 1`)
  ).map((p) => p.name)
const inDefault = async () =>
  (await query<{ n: number }>(sql`select count(*)::int as n from analytics_pageviews_default`))[0]!.n
const options = (now: string, retentionDays = 0) => ({
  now: new Date(now),
  retentionDays,
  partitionsAhead: 3,
})

describe('partitions', () => {
  it('creates the current month and three ahead, and is a no-op the second time', async () => {
    const report = await runMaintenance(h.database, options('2031-11-20T10:00:00Z'))
    expect(report).toMatchObject({ partitionsCreated: 4, strayRowsMoved: 0 })
    expect(await partitions()).toEqual(
      expect.arrayContaining([
        'analytics_pageviews_y2031m11',
        'analytics_pageviews_y2031m12',
        'analytics_pageviews_y2032m01',
        'analytics_pageviews_y2032m02',
      ]),
    )
    expect(await partitions()).not.toContain('analytics_pageviews_y2032m03')
    expect(await runMaintenance(h.database, options('2031-11-20T10:00:00Z'))).toMatchObject({
      partitionsCreated: 0,
    })
  })

  it('a view of a month without a partition lands in the default one and is moved out, leave still working', async () => {
    const clock = testClock(Date.parse('2034-05-10T08:00:00Z'))
    const app = await h.build({ now: clock.nowMs })
    const sessionId = await createSession(app)
    const viewId = await recordPageView(app, sessionId, { path: '/stray' })
    expect(await inDefault()).toBeGreaterThan(0)
    // Its month has no partition: the leave goes through the parent to the default partition.
    clock.advance(5_000)
    expectOk(await leave(app, viewId, { duration: 5, scrollDepth: 10 }))
    const before = await pageViewRow(h, viewId)
    expect(before).toMatchObject({ duration: 5, scrollDepth: 10 })

    const report = await runMaintenance(h.database, options('2026-12-01T00:00:00Z'))
    expect(report!.strayRowsMoved).toBeGreaterThan(0)
    expect(await inDefault()).toBe(0)
    expect(await partitions()).toContain('analytics_pageviews_y2034m05')
    const [where] = await query<{ partition: string }>(
      sql`select tableoid::regclass::text as partition from analytics_pageviews where id = ${viewId}`,
    )
    expect(where!.partition).toBe('analytics_pageviews_y2034m05')
    expect(await pageViewRow(h, viewId)).toEqual(before)

    clock.advance(15_000)
    expectOk(await leave(app, viewId, { duration: 20, scrollDepth: 40 }))
    expect(await pageViewRow(h, viewId)).toMatchObject({ duration: 20, scrollDepth: 40 })
  })

  it('a second instance skips the run while the first holds the advisory lock', async () => {
    const other = postgres(h.testDb.url, { max: 1, onnotice: () => {} })
    try {
      const held = await other.reserve()
      await held`select pg_advisory_lock(${MAINTENANCE_LOCK})`
      expect(await runMaintenance(h.database, options('2026-12-01T00:00:00Z'))).toBeUndefined()
      await held`select pg_advisory_unlock(${MAINTENANCE_LOCK})`
      held.release()
      expect(await runMaintenance(h.database, options('2026-12-01T00:00:00Z'))).toBeDefined()
    } finally {
      await other.end()
    }
  })

  it('the service runs it at start (ANALYTICS_MAINTENANCE_INTERVAL_MS) and stops it on close', async () => {
    const app = await h.build({
      // Retention off: this clock is years ahead of the other tests' rows.
      env: { ANALYTICS_MAINTENANCE_INTERVAL_MS: '60000', ANALYTICS_RETENTION_DAYS: '0' },
      now: () => Date.parse('2036-02-03T00:00:00Z'),
    })
    await app.ready()
    await waitFor(() => app.maintenance.stats().runs + app.maintenance.stats().skipped >= 1)
    expect(app.maintenance.stats()).toMatchObject({ failures: 0 })
    await waitFor(async () => (await partitions()).includes('analytics_pageviews_y2036m05'))
    const metrics = await app.inject({ method: 'GET', url: '/metrics' })
    if (metrics.statusCode === 200) expect(metrics.body).toMatch(/analytics_maintenance\{stat="runs"\}/)
    await app.close()
  })
})

describe('retention (ANALYTICS_RETENTION_DAYS=425) with an injected clock', () => {
  const NOW = '2027-06-15T12:00:00Z'
  const cutoff = retentionCutoff(new Date(NOW), 425)!
  /** Fingerprint of the seeded rows inside the window. */
  const inside = () =>
    query<{ views: string; n: number; sessions: number }>(sql`
      select md5(string_agg(p::text, ',' order by p.id)) as views, count(*)::int as n,
             (select count(*)::int from analytics_sessions
              where visitor_id like 'seed-%' and last_activity_at >= ${cutoff.toISOString()}) as sessions
      from analytics_pageviews p where p.path like '/seed/%' and p.entered_at >= ${cutoff.toISOString()}`)

  it('drops expired months, deletes older rows and sessions, leaves the window untouched; ingest keeps answering', async () => {
    expect(cutoff.toISOString()).toBe('2026-04-16T12:00:00.000Z')
    // 1500 sessions over the 600 days before NOW, two views each, every month with its partition.
    await query(sql`select analytics_pageviews_add_partition(m)
      from generate_series(timestamptz '2025-10-01Z', timestamptz '2027-06-01Z', interval '1 month') m`)
    await query(sql`
      insert into analytics_sessions (id, visitor_id, started_at, last_activity_at)
      select gen_random_uuid(), 'seed-' || g, t, t + interval '10 minutes'
      from (select g, ${NOW}::timestamptz - g * interval '0.4 days' as t from generate_series(1, 1500) g) s`)
    await query(sql`
      insert into analytics_pageviews (session_id, path, entered_at)
      select s.id, '/seed/' || k, s.started_at + k * interval '5 minutes'
      from analytics_sessions s cross join generate_series(0, 1) k where s.visitor_id like 'seed-%'`)
    const [before] = await inside()
    expect(before!.n).toBeGreaterThan(1000)

    const clock = testClock(Date.parse(NOW))
    const app = await h.build({ now: clock.nowMs })
    const sessionId = await createSession(app)
    const run = runMaintenance(h.database, options(NOW, 425))
    let done = false
    void run.finally(() => {
      done = true
    })
    const written: string[] = []
    // Views, leaves and heartbeats: their statements lock the tables in different orders.
    do {
      const left = written.slice(-2)
      const [views, leaves] = await Promise.all([
        Promise.all(Array.from({ length: 3 }, () => recordPageView(app, sessionId))),
        Promise.all(left.map((id) => leave(app, id, { duration: 1, scrollDepth: 10 }))),
        heartbeat(app, sessionId).then(expectOk),
      ])
      for (const res of leaves) expectOk(res)
      written.push(...views)
    } while (!done)
    const report = (await run)!

    expect(report.partitionsDropped).toEqual([
      'analytics_pageviews_y2025m10',
      'analytics_pageviews_y2025m11',
      'analytics_pageviews_y2025m12',
      'analytics_pageviews_y2026m01',
      'analytics_pageviews_y2026m02',
      'analytics_pageviews_y2026m03',
    ])
    expect(report.pageViewsDeleted).toBeGreaterThan(0)
    expect(report.sessionsDeleted).toBeGreaterThan(400)
    const [old] = await query<{ views: number; sessions: number }>(sql`
      select (select count(*)::int from analytics_pageviews where entered_at < ${cutoff.toISOString()}) as views,
             (select count(*)::int from analytics_sessions where last_activity_at < ${cutoff.toISOString()}) as sessions`)
    expect(old).toEqual({ views: 0, sessions: 0 })
    expect(await inside()).toEqual([before])
    const [kept] = await query<{ n: number }>(
      sql`select count(*)::int as n from analytics_pageviews where session_id = ${sessionId}`,
    )
    expect(kept!.n).toBe(written.length)
    expect(await partitions()).toContain('analytics_pageviews_y2026m04')
  })
})

describe('erasure tombstones', () => {
  it('a run deletes the tombstones past their window and keeps the others', async () => {
    const now = new Date('2040-06-01T12:00:00Z')
    await h.database.db.execute(sql`insert into analytics_erasures (digest, expires_at) values
      ('test-expired', ${new Date(now.getTime() - 1000).toISOString()}),
      ('test-current', ${new Date(now.getTime() + 1000).toISOString()})`)
    const session = await openMaintenanceSession(h.database)
    try {
      expect(await deleteExpiredTombstones(session.transaction.bind(session), now)).toBeGreaterThanOrEqual(1)
    } finally {
      await session.release()
    }
    const left = await query<{ digest: string }>(
      sql`select digest from analytics_erasures where digest like 'test-%' order by 1`,
    )
    expect(left).toEqual([{ digest: 'test-current' }])
  })
})
