import { openDatabase } from '@bio/service-kit'
import { inArray } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { buildAnalyticsApp } from '../src/app.js'
import { schema } from '../src/db/schema.js'
import {
  A,
  CHROME_UA,
  createSession,
  expectError,
  sessionBody,
  testConfig,
  UUID_RE,
  useAnalyticsHarness,
  waitFor,
} from './helper.js'

const h = useAnalyticsHarness({ app: false })

/** An app over its own connection pool, closed with the app (flush first, then the pool). */
async function ownApp(env: Record<string, string> = {}) {
  const config = testConfig({ RATE_LIMIT_ENABLED: 'false', ...env }, h.testDb.url)
  const database = await openDatabase(config.db, schema)
  return buildAnalyticsApp({ config, database, closeDatabase: true, logger: false })
}

/** How many items wait in a batcher's queue, as the metrics report it. */
async function queued(app: Awaited<ReturnType<typeof ownApp>>, batcher: string): Promise<number> {
  const line = (await app.metrics.metrics())
    .split('\n')
    .find(
      (l) =>
        l.startsWith('ingest_batcher{') && l.includes(`batcher="${batcher}"`) && l.includes('stat="queued"'),
    )
  return line ? Number(line.split(' ').at(-1)) : Number.NaN
}

async function storedSessionIds(ids: string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set()
  const rows = await h.database.db
    .select({ id: schema.analyticsSessions.id })
    .from(schema.analyticsSessions)
    .where(inArray(schema.analyticsSessions.id, ids))
  return new Set(rows.map((r) => r.id))
}

async function storedPageViewIds(ids: string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set()
  const rows = await h.database.db
    .select({ id: schema.analyticsPageViews.id })
    .from(schema.analyticsPageViews)
    .where(inArray(schema.analyticsPageViews.id, ids))
  return new Set(rows.map((r) => r.id))
}

describe('graceful shutdown: every acknowledged write is committed', () => {
  it('writes queued behind a long maxWaitMs are flushed by app.close(), before its pool closes', async () => {
    // Writes would otherwise wait a whole second: close() must not.
    const app = await ownApp({ INGEST_MAX_WAIT_MS: '1000' })
    const sessions = Array.from({ length: 20 }, () =>
      app.inject({
        method: 'POST',
        url: `${A}/session`,
        payload: sessionBody(),
        headers: { 'user-agent': CHROME_UA },
      }),
    )
    // Wait until every request reached the batcher and sits in its queue (none written yet).
    await waitFor(async () => (await queued(app, 'sessions')) === 20)
    expect(await storedSessionIds([])).toEqual(new Set())
    const started = Date.now()
    await app.close()
    expect(Date.now() - started).toBeLessThan(1000)
    const responses = await Promise.all(sessions)
    const ids = responses.map((r) => {
      expect(r.statusCode, r.body).toBe(200)
      return r.json().data.id as string
    })
    for (const id of ids) expect(id).toMatch(UUID_RE)
    expect((await storedSessionIds(ids)).size).toBe(20)
  })

  it('app.close() right after firing requests: every id answered is in the database', async () => {
    const seed = await h.build()
    const sessionId = await createSession(seed)
    const app = await ownApp({ INGEST_MAX_WAIT_MS: '50' })
    const sessions = Array.from({ length: 15 }, () =>
      app.inject({
        method: 'POST',
        url: `${A}/session`,
        payload: sessionBody(),
        headers: { 'user-agent': CHROME_UA },
      }),
    )
    const views = Array.from({ length: 15 }, (_, i) =>
      app.inject({ method: 'POST', url: `${A}/pageview`, payload: { sessionId, path: `/${i}` } }),
    )
    // Let the requests get routed (a request that is not yet routed when close() begins is refused
    // with 503); their writes still sit in the 50 ms batching window when close() begins.
    await new Promise((r) => setTimeout(r, 10))
    const closing = app.close()
    const [sessionResponses, viewResponses] = [await Promise.all(sessions), await Promise.all(views)]
    await closing

    const acknowledged = (responses: typeof sessionResponses) =>
      responses.flatMap((r) => {
        if (r.statusCode === 200) {
          const id = r.json().data.id as string | null
          expect(id).toMatch(UUID_RE)
          return [id!]
        }
        // A request the closing server refused: 503 (Fastify's return503OnClosing; its body is
        // not our envelope, see the known-bug test below). Never a 500, never half-done.
        expect(r.statusCode, r.body).toBe(503)
        return []
      })
    const sessionIds = acknowledged(sessionResponses)
    const viewIds = acknowledged(viewResponses)
    expect(sessionIds.length + viewIds.length).toBeGreaterThan(0)
    expect((await storedSessionIds(sessionIds)).size).toBe(sessionIds.length)
    expect((await storedPageViewIds(viewIds)).size).toBe(viewIds.length)
  })

  // Fastify's own `return503OnClosing` body is not the envelope; the service kit's graceful-close
  // plugin (shared/service-kit/src/http/plugins/graceful-close.ts) answers these instead.
  it('a request that arrives while the app is closing gets the 503 error envelope', async () => {
    const app = await ownApp()
    const closing = app.close()
    const res = await app.inject({ method: 'GET', url: '/healthz' })
    await closing
    expectError(res, 503, 'SERVICE_UNAVAILABLE')
  })
})
