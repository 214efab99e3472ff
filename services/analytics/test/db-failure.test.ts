import { sql } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildAnalyticsApp } from '../src/app.js'
import {
  type AnalyticsApp,
  bearer,
  createSession,
  expectError,
  expectNotStored,
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
  testClock,
  testConfig,
  UNKNOWN_ID,
  useAnalyticsHarness,
} from './helper.js'

/**
 * A write the database cannot commit (down, or broken) is answered 503 SERVICE_UNAVAILABLE with
 * Retry-After, never a 500 and never the silent `{ id: null }` / `{ ok: true }`: the client can
 * tell "not stored" from "not tracked" and retries. Validation and auth still answer first.
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

  it('POST /session → 503 with Retry-After', async () => {
    expectNotStored(await postSession(app, sessionBody()))
  })

  it('POST /pageview → 503 with Retry-After', async () => {
    expectNotStored(await postPageView(app, { sessionId: UNKNOWN_ID, path: '/' }))
  })

  it('leave, heartbeat and identify → 503 with Retry-After', async () => {
    expectNotStored(await leave(app, UNKNOWN_ID, { duration: 5 }))
    expectNotStored(await leave(app, UNKNOWN_ID, { duration: 5 }, 'POST'))
    expectNotStored(await heartbeat(app, UNKNOWN_ID))
    expectNotStored(await identify(app, UNKNOWN_ID, bearer(USER)))
  })

  it('the silent answers stay for what is not stored on purpose (a bot, no consent)', async () => {
    expectNullId(
      await postSession(app, sessionBody(), {
        'user-agent': 'Googlebot/2.1 (+http://www.google.com/bot.html)',
      }),
    )
    expectNullId(await postSession(app, sessionBody({ consentAnalytics: 'denied' })))
    expectOk(await heartbeat(app, 'not-a-uuid'))
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
  const h = useAnalyticsHarness()

  /** Renames a table for the duration of `body`, then puts it back. */
  async function withTableRenamed(table: string, body: () => Promise<void>) {
    await h.database.db.execute(sql.raw(`alter table ${table} rename to ${table}_gone`))
    try {
      await body()
    } finally {
      await h.database.db.execute(sql.raw(`alter table ${table}_gone rename to ${table}`))
    }
  }

  it('sessions table missing: every write → 503; works again after', async () => {
    const clock = testClock(Date.now() - 60_000)
    const clocked = await h.build({ now: clock.nowMs })
    const sessionId = await createSession(clocked)
    clock.advance(30_000)
    await withTableRenamed('analytics_sessions', async () => {
      expectNotStored(await postSession(clocked, sessionBody()))
      expectNotStored(await postPageView(clocked, { sessionId, path: '/' }))
      expectNotStored(await heartbeat(clocked, sessionId))
      expectNotStored(await identify(clocked, sessionId, bearer(USER)))
    })
    expect(await sessionRow(h, sessionId)).toMatchObject({ duration: 0, userId: null, pageViews: 0 })
    // Nothing is stuck: the service recovers as soon as the table is back.
    await createSession(clocked)
    expectOk(await heartbeat(clocked, sessionId))
    expect((await sessionRow(h, sessionId))!.duration).toBe(30)
  })

  it('pageviews table missing: POST /pageview and leave → 503; the session is not counted', async () => {
    const sessionId = await createSession(h.app)
    const viewId = await recordPageView(h.app, sessionId)
    const before = await rowCounts(h)
    await withTableRenamed('analytics_pageviews', async () => {
      expectNotStored(await postPageView(h.app, { sessionId, path: '/x' }))
      expectNotStored(await leave(h.app, viewId, { duration: 12 }))
    })
    // The pageview transaction rolled back as a whole: no half-counted view.
    expect(await rowCounts(h)).toEqual(before)
    expect(await sessionRow(h, sessionId)).toMatchObject({ pageViews: 1, duration: 0 })
    await recordPageView(h.app, sessionId)
    expect((await sessionRow(h, sessionId))!.pageViews).toBe(2)
  })
})
