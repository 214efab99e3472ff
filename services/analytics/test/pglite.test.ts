import { type DatabaseHandle, openDatabase } from '@bio/service-kit'
import { asc, eq, sql } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildAnalyticsApp } from '../src/app.js'
import { MIGRATIONS_FOLDER } from '../src/db/migrations.js'
import { type AnalyticsSchema, analyticsPageViews, analyticsSessions, schema } from '../src/db/schema.js'
import { uuidV7, uuidV7Time } from '../src/lib/uuid-v7.js'
import { runMaintenance } from '../src/maintenance/run-maintenance.js'
import {
  A,
  type AnalyticsApp,
  bearer,
  createSession,
  expectedVisitorHash,
  expectNullId,
  expectOk,
  heartbeat,
  identify,
  leave,
  postPageView,
  postSession,
  recordPageView,
  sessionBody,
  testClock,
  testConfig,
  UNKNOWN_ID,
  UUID_RE,
} from './helper.js'

/** The embedded-database path: the same app and SQL over PGlite (PostgreSQL in WebAssembly, in memory). */

let database: DatabaseHandle<AnalyticsSchema>
let app: AnalyticsApp
const clock = testClock(Date.parse('2026-07-01T08:00:00.000Z'))

beforeAll(async () => {
  const config = testConfig({ RATE_LIMIT_ENABLED: 'false' })
  expect(config.db.url).toBeUndefined()
  database = await openDatabase({ ...config.db, url: undefined, dataDir: 'memory://' }, schema)
  expect(database.kind).toBe('pglite')
  await database.migrate(MIGRATIONS_FOLDER)
  app = await buildAnalyticsApp({ config, database, closeDatabase: true, now: clock.nowMs, logger: false })
})
afterAll(async () => {
  await app?.close()
})

const USER = '4b4b4b4b-0000-4000-8000-000000000001'

const session = async (id: string) =>
  (await database.db.select().from(analyticsSessions).where(eq(analyticsSessions.id, id)))[0]
const views = (sessionId: string) =>
  database.db
    .select()
    .from(analyticsPageViews)
    .where(eq(analyticsPageViews.sessionId, sessionId))
    .orderBy(asc(analyticsPageViews.enteredAt))

describe('PGlite: the whole ingest flow', () => {
  it('session → pageviews → leave → heartbeat → identify', async () => {
    const sessionId = await createSession(app, {
      visitorId: 'pglite-visitor',
      referrer: 'https://www.Example.org/a',
      device: 'tablet',
    })
    expect(await session(sessionId)).toMatchObject({
      visitorId: expectedVisitorHash('pglite-visitor'),
      device: 'desktop',
      browser: 'Chrome',
      referrerDomain: 'example.org',
      pageViews: 0,
      bounced: true,
      duration: 0,
    })

    clock.advance(1_000)
    const first = await recordPageView(app, sessionId, { path: '/', title: 'Home' })
    expect(await session(sessionId)).toMatchObject({ pageViews: 1, bounced: true })
    clock.advance(12_500)
    const second = await recordPageView(app, sessionId, { path: '/links' })
    expect(await session(sessionId)).toMatchObject({ pageViews: 2, bounced: false })

    clock.advance(45_000)
    expectOk(await leave(app, second, { duration: 40.4, scrollDepth: 75 }))
    clock.advance(30_000)
    expectOk(await heartbeat(app, sessionId))
    expectOk(await identify(app, sessionId, bearer(USER)))

    const rows = await views(sessionId)
    expect(rows.map((r) => r.id)).toEqual([first, second])
    expect(rows[0]).toMatchObject({ path: '/', title: 'Home', duration: 12.5, scrollDepth: null })
    expect(rows[1]).toMatchObject({ path: '/links', duration: 40.4, scrollDepth: 75 })
    expect(rows[1]!.leftAt).not.toBeNull()
    expect(await session(sessionId)).toMatchObject({
      pageViews: 2,
      bounced: false,
      duration: 30 + 40,
      userId: USER,
    })
  })

  it('concurrent pageviews count exactly and back-fill in order', async () => {
    const sessionId = await createSession(app)
    clock.advance(1_000)
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) => postPageView(app, { sessionId, path: `/c/${i}` })),
    )
    for (const r of responses) expect(r.json().data.id).toMatch(UUID_RE)
    expect(await session(sessionId)).toMatchObject({ pageViews: 20, bounced: false })
    const rows = await views(sessionId)
    expect(rows).toHaveLength(20)
    expect(rows.at(-1)!.duration).toBeNull()
    for (const r of rows.slice(0, -1)) expect(r.duration).not.toBeNull()
  })

  it('silent results: unknown session, unknown ids', async () => {
    expectNullId(await postPageView(app, { sessionId: UNKNOWN_ID, path: '/' }))
    expectOk(await leave(app, UNKNOWN_ID, { duration: 1 }))
    expectOk(await heartbeat(app, 'not-a-uuid'))
    expectOk(await identify(app, UNKNOWN_ID, bearer(USER)))
  })

  it('a repeated leave replaces; two heartbeats 30 s apart add 60', async () => {
    const sessionId = await createSession(app)
    const view = await recordPageView(app, sessionId)
    expectOk(await leave(app, view, { duration: 10 }))
    expectOk(await leave(app, view, { duration: 25 }))
    clock.advance(30_000)
    expectOk(await heartbeat(app, sessionId))
    clock.advance(30_000)
    expectOk(await heartbeat(app, sessionId))
    expect((await session(sessionId))!.duration).toBe(25 + 60)
  })

  it('retries with client ids change nothing: one session, one view, counted once, one heartbeat seq', async () => {
    const sessionClientId = uuidV7(clock.nowMs() - 5_000)
    const viewClientId = uuidV7(clock.nowMs() - 4_000)
    const body = { ...sessionBody(), id: sessionClientId }
    const first = await postSession(app, body)
    const again = await postSession(app, body)
    expect(first.json()).toEqual({ success: true, data: { id: sessionClientId } })
    expect(again.json()).toEqual(first.json())
    const view = { id: viewClientId, sessionId: sessionClientId, path: '/r' }
    const answers = await Promise.all([
      postPageView(app, view),
      postPageView(app, view),
      postPageView(app, view),
    ])
    for (const a of answers) expect(a.json()).toEqual({ success: true, data: { id: viewClientId } })
    const rows = await views(sessionClientId)
    expect(rows.map((r) => r.id)).toEqual([viewClientId])
    expect(rows[0]!.enteredAt.getTime()).toBe(uuidV7Time(viewClientId))
    clock.advance(30_000)
    for (let i = 0; i < 3; i++)
      expectOk(
        await app.inject({
          method: 'PATCH',
          url: `${A}/session/${sessionClientId}/heartbeat`,
          payload: { seq: 1 },
        }),
      )
    expect(await session(sessionClientId)).toMatchObject({
      pageViews: 1,
      bounced: true,
      duration: 30,
      heartbeatSeq: 1,
    })
  })

  it('/readyz answers over PGlite', async () => {
    const res = await app.inject({ method: 'GET', url: '/readyz' })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({ success: true, data: { status: 'ready' } })
  })
})

describe('PGlite: the maintenance task', () => {
  const inDefault = async () =>
    (
      (await database.db.execute(
        sql`select count(*)::int as n from analytics_pageviews_default`,
      )) as unknown as {
        rows: { n: number }[]
      }
    ).rows[0]!.n

  it('creates partitions ahead, empties the default partition, and applies retention', async () => {
    // A view in a month without a partition lands in the default one (as do the other tests' views,
    // at this file's clock: the migration made only the real current month's partition).
    const later = testClock(Date.parse('2031-03-10T10:00:00.000Z'))
    const laterApp = await buildAnalyticsApp({
      config: testConfig({ RATE_LIMIT_ENABLED: 'false' }),
      database,
      closeDatabase: false,
      now: later.nowMs,
      logger: false,
    })
    const sessionId = await createSession(laterApp)
    const viewId = await recordPageView(laterApp, sessionId, { path: '/stray' })
    await laterApp.close()
    const strays = await inDefault()
    expect(strays).toBeGreaterThanOrEqual(1)

    const report = await runMaintenance(database, {
      now: clock.now(),
      retentionDays: 0,
      partitionsAhead: 3,
    })
    expect(report).toMatchObject({ strayRowsMoved: strays, partitionsDropped: [] })
    expect(await inDefault()).toBe(0)
    const names = (
      (await database.db.execute(sql`select c.relname as name from pg_inherits i
        join pg_class c on c.oid = i.inhrelid where i.inhparent = 'analytics_pageviews'::regclass`)) as unknown as {
        rows: { name: string }[]
      }
    ).rows.map((r) => r.name)
    expect(names).toEqual(
      expect.arrayContaining(['analytics_pageviews_y2026m10', 'analytics_pageviews_y2031m03']),
    )

    // Retention as of 2033: everything here is older than 425 days, and goes.
    const late = await runMaintenance(database, {
      now: new Date('2033-01-01T00:00:00Z'),
      retentionDays: 425,
      partitionsAhead: 1,
    })
    expect(late!.partitionsDropped).toEqual(
      expect.arrayContaining(['analytics_pageviews_y2026m07', 'analytics_pageviews_y2031m03']),
    )
    expect((await database.db.select().from(analyticsPageViews)).map((v) => v.id)).not.toContain(viewId)
    expect(await database.db.select().from(analyticsSessions)).toEqual([])
  })
})
