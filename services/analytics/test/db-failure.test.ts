import { sql } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildAnalyticsApp } from '../src/app.js'
import {
  type AnalyticsApp,
  type AnalyticsHarness,
  analyticsHarness,
  bearer,
  createSession,
  expectError,
  expectNullId,
  expectOk,
  heartbeat,
  identify,
  leave,
  postPageView,
  postSession,
  recordPageView,
  rowCounts,
  sessionBody,
  sessionRow,
  testConfig,
  UNKNOWN_ID,
} from './helper.js'

/**
 * The ingest endpoints never fail a page render: a database that is down or broken answers the
 * contract's silent results (`{ id: null }`, `{ ok: true }`), never a 500.
 */

const USER = '0f0f0f0f-0000-4000-8000-000000000001'

describe('database unreachable (connection refused)', () => {
  let app: AnalyticsApp

  beforeAll(async () => {
    // Port 1: nothing listens, so every connection attempt is refused (a transient error: retried once).
    app = await buildAnalyticsApp({
      config: testConfig({ RATE_LIMIT_ENABLED: 'false' }, 'postgres://postgres@127.0.0.1:1/none'),
      logger: false,
    })
  })
  afterAll(async () => {
    await app?.close()
  })

  it('POST /session → 200 { id: null }', async () => {
    expectNullId(await postSession(app, sessionBody()))
  })

  it('POST /pageview → 200 { id: null }', async () => {
    expectNullId(await postPageView(app, { sessionId: UNKNOWN_ID, path: '/' }))
  })

  it('leave, heartbeat and identify → 200 { ok: true }', async () => {
    expectOk(await leave(app, UNKNOWN_ID, { duration: 5 }))
    expectOk(await leave(app, UNKNOWN_ID, { duration: 5 }, 'POST'))
    expectOk(await heartbeat(app, UNKNOWN_ID))
    expectOk(await identify(app, UNKNOWN_ID, bearer(USER)))
  })

  it('still validates and authenticates', async () => {
    expectError(await postSession(app, { visitorId: 1 }), 400, 'VALIDATION_FAILED')
    expectError(await identify(app, UNKNOWN_ID), 401, 'AUTH_UNAUTHORIZED')
  })

  it('GET /readyz → 503 SERVICE_UNAVAILABLE; /healthz stays 200', async () => {
    const res = await app.inject({ method: 'GET', url: '/readyz' })
    expectError(res, 503, 'SERVICE_UNAVAILABLE')
    expect(res.headers['retry-after']).toBeDefined()
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200)
  })
})

describe('a broken schema in a reachable database', () => {
  let h: AnalyticsHarness
  let app: AnalyticsApp

  beforeAll(async () => {
    h = await analyticsHarness()
    app = await h.build()
  })
  afterAll(async () => {
    await h?.close()
  })

  /** Renames a table for the duration of `body`, then puts it back. */
  async function withTableRenamed(table: string, body: () => Promise<void>) {
    await h.database.db.execute(sql.raw(`alter table ${table} rename to ${table}_gone`))
    try {
      await body()
    } finally {
      await h.database.db.execute(sql.raw(`alter table ${table}_gone rename to ${table}`))
    }
  }

  it('sessions table missing: POST /session → { id: null }, heartbeat/identify → { ok: true }; works again after', async () => {
    const sessionId = await createSession(app)
    await withTableRenamed('analytics_sessions', async () => {
      expectNullId(await postSession(app, sessionBody()))
      expectNullId(await postPageView(app, { sessionId, path: '/' }))
      expectOk(await heartbeat(app, sessionId))
      expectOk(await identify(app, sessionId, bearer(USER)))
    })
    expect(await sessionRow(h, sessionId)).toMatchObject({ duration: 0, userId: null, pageViews: 0 })
    // Nothing is stuck: the service recovers as soon as the table is back.
    await createSession(app)
    expectOk(await heartbeat(app, sessionId))
    expect((await sessionRow(h, sessionId))!.duration).toBe(30)
  })

  it('pageviews table missing: POST /pageview → { id: null }, leave → { ok: true }; the session is not counted', async () => {
    const sessionId = await createSession(app)
    const viewId = await recordPageView(app, sessionId)
    const before = await rowCounts(h)
    await withTableRenamed('analytics_pageviews', async () => {
      expectNullId(await postPageView(app, { sessionId, path: '/x' }))
      expectOk(await leave(app, viewId, { duration: 12 }))
    })
    // The pageview transaction rolled back as a whole: no half-counted view.
    expect(await rowCounts(h)).toEqual(before)
    expect(await sessionRow(h, sessionId)).toMatchObject({ pageViews: 1, duration: 0 })
    await recordPageView(app, sessionId)
    expect((await sessionRow(h, sessionId))!.pageViews).toBe(2)
  })
})
