import { createHmac } from 'node:crypto'
import { type GeoLookup, rowsOf } from '@bio/service-kit'
import {
  type AppHarness,
  expectError,
  type HarnessHandle,
  serviceHarness,
  type UseHarnessOptions,
  UUID_RE,
  useHarness,
} from '@bio/service-kit/testing'
import { asc, eq, sql } from 'drizzle-orm'
import type { FastifyBaseLogger, LightMyRequestResponse } from 'fastify'
import { expect } from 'vitest'
import { createAccessTokenSigner } from '../../auth/src/tokens/access-token-signer.js'
import { buildAnalyticsApp } from '../src/app.js'
import { type AnalyticsConfig, loadAnalyticsConfig } from '../src/config.js'
import { MIGRATIONS_FOLDER } from '../src/db/migrations.js'
import { type AnalyticsSchema, schema } from '../src/db/schema.js'

export const TEST_SECRET = 'test-secret-that-is-at-least-32-bytes-long!!'
export const TRACKING_SECRET = 'tracking-secret-at-least-32-bytes-long!!!!'
export const VISITOR_SECRET = 'visitor-secret-at-least-32-bytes-long!!!!!'
/** A real browser's User-Agent (desktop Chrome on Windows). */
export const CHROME_UA =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36'
export const IPHONE_UA =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1'

export function testConfig(env: Record<string, string> = {}, dbUrl?: string): AnalyticsConfig {
  return loadAnalyticsConfig({
    NODE_ENV: 'test',
    JWT_SECRET: TEST_SECRET,
    TRACKING_HMAC_SECRET: TRACKING_SECRET,
    VISITOR_HASH_SECRET: VISITOR_SECRET,
    LOG_LEVEL: 'silent',
    // Load shedding reacts to the machine, not to the code under test: a busy CI box must not turn
    // answers into 503s. overload.test.ts switches it on with its own thresholds.
    OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0',
    // No maintenance timer: tests that share a database must not see a run move or delete their
    // rows; maintenance.test.ts runs it on purpose.
    ANALYTICS_MAINTENANCE_INTERVAL_MS: '0',
    ...(dbUrl ? { ANALYTICS_DATABASE_URL: dbUrl } : {}),
    ...env,
  })
}

/** Signs access tokens exactly as the auth service does (auth's own signer, the same key). */
export const signToken = (userId: string, sessionId = '00000000-0000-4000-8000-000000000000') =>
  createAccessTokenSigner({ ...testConfig().tokens, accessTtlSeconds: 900 })({ userId, sessionId })
    .accessToken

export type AnalyticsHarness = AppHarness<
  AnalyticsSchema,
  {
    env?: Record<string, string>
    now?: () => number
    geo?: GeoLookup
    jwks?: Parameters<typeof buildAnalyticsApp>[0]['jwks']
  },
  Awaited<ReturnType<typeof buildAnalyticsApp>>
>

/** A fresh migrated PostgreSQL database for one test file, and a builder for apps over it. */
export function analyticsHarness(): Promise<AnalyticsHarness> {
  return serviceHarness({
    prefix: 'analytics',
    databaseConfig: (url) => testConfig({}, url).db,
    schema,
    migrationsFolder: MIGRATIONS_FOLDER,
    build: (options: AnalyticsBuildOptions, migrated) =>
      buildAnalyticsApp({
        config: testConfig({ RATE_LIMIT_ENABLED: 'false', ...options.env }, migrated.testDb.url),
        database: migrated.database,
        now: options.now,
        geo: options.geo,
        jwks: options.jwks,
        logger: false,
      }),
    defaults: {},
  })
}

export type AnalyticsBuildOptions = NonNullable<Parameters<AnalyticsHarness['build']>[0]>
export type AnalyticsHarnessHandle = HarnessHandle<AnalyticsSchema, AnalyticsBuildOptions, AnalyticsApp>

/**
 * This file's harness: registers the beforeAll/afterAll that make and drop its database, builds
 * the default app (`options.app`, or none with `app: false`) and returns the handle tests read.
 */
export const useAnalyticsHarness = (
  options?: UseHarnessOptions<AnalyticsBuildOptions>,
): AnalyticsHarnessHandle => useHarness(analyticsHarness, options)

/** A consenting session body. */
export const sessionBody = (overrides: Record<string, unknown> = {}) => ({
  visitorId: `visitor-${Math.random().toString(36).slice(2)}`,
  consentAnalytics: 'granted',
  ...overrides,
})

// ---------------------------------------------------------------------------------------------
// Shared helpers for the route tests.

export const A = '/api/v1/analytics'
export { type ErrorBodyShape, expectError, testClock, UUID_RE } from '@bio/service-kit/testing'
/** A well-formed UUID no row will ever have. */
export const UNKNOWN_ID = '7f0c0e8e-5d6b-4c1a-9f3e-000000000000'

export type AnalyticsApp = Awaited<ReturnType<AnalyticsHarness['build']>>
export type SessionRecord = typeof schema.analyticsSessions.$inferSelect
export type PageViewRecord = typeof schema.analyticsPageViews.$inferSelect

/** Asserts 503 SERVICE_UNAVAILABLE in the envelope with a Retry-After the client can honour: not stored, retry. */
export function expectNotStored(res: LightMyRequestResponse): void {
  expectError(res, 503, 'SERVICE_UNAVAILABLE')
  expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1)
}

/** Asserts `200 { success: true, data: { ok: true } }`. */
export function expectOk(res: LightMyRequestResponse): void {
  expect(res.statusCode, res.body).toBe(200)
  expect(res.json()).toEqual({ success: true, data: { ok: true } })
}

/** Asserts `200 { success: true, data: { id: null } }`. */
export function expectNullId(res: LightMyRequestResponse): void {
  expect(res.statusCode, res.body).toBe(200)
  expect(res.json()).toEqual({ success: true, data: { id: null } })
}

type Headers = Record<string, string>

export const postSession = (
  app: AnalyticsApp,
  body: unknown,
  headers: Headers = { 'user-agent': CHROME_UA },
  extra: { remoteAddress?: string } = {},
) => app.inject({ method: 'POST', url: `${A}/session`, payload: body as object, headers, ...extra })

/** Creates a tracked session (Chrome UA, consent granted) and returns its id. */
export async function createSession(
  app: AnalyticsApp,
  overrides: Record<string, unknown> = {},
  headers: Headers = { 'user-agent': CHROME_UA },
): Promise<string> {
  const res = await postSession(app, sessionBody(overrides), headers)
  expect(res.statusCode, res.body).toBe(200)
  const id = (res.json() as { data: { id: string | null } }).data.id
  expect(id).toMatch(UUID_RE)
  return id!
}

export const postPageView = (app: AnalyticsApp, body: unknown) =>
  app.inject({ method: 'POST', url: `${A}/pageview`, payload: body as object })

/** Records a pageview and returns its id (asserts it is not null). */
export async function recordPageView(
  app: AnalyticsApp,
  sessionId: string,
  overrides: Record<string, unknown> = {},
): Promise<string> {
  const res = await postPageView(app, { sessionId, path: '/', ...overrides })
  expect(res.statusCode, res.body).toBe(200)
  const id = (res.json() as { data: { id: string | null } }).data.id
  expect(id).toMatch(UUID_RE)
  return id!
}

export const leave = (
  app: AnalyticsApp,
  id: string,
  body: unknown,
  method: 'PATCH' | 'POST' = 'PATCH',
  headers: Headers = {},
) => app.inject({ method, url: `${A}/pageview/${id}/leave`, payload: body as object, headers })

export const heartbeat = (app: AnalyticsApp, id: string) =>
  app.inject({ method: 'PATCH', url: `${A}/session/${id}/heartbeat` })

export const identify = (app: AnalyticsApp, id: string, authorization?: string) =>
  app.inject({
    method: 'PATCH',
    url: `${A}/session/${id}/identify`,
    headers: authorization === undefined ? {} : { authorization },
  })

export const bearer = (userId: string) => `Bearer ${signToken(userId)}`

export async function sessionRow(h: AnalyticsHarness, id: string): Promise<SessionRecord | undefined> {
  const [row] = await h.database.db
    .select()
    .from(schema.analyticsSessions)
    .where(eq(schema.analyticsSessions.id, id))
  return row
}

export async function pageViewRow(h: AnalyticsHarness, id: string): Promise<PageViewRecord | undefined> {
  const [row] = await h.database.db
    .select()
    .from(schema.analyticsPageViews)
    .where(eq(schema.analyticsPageViews.id, id))
  return row
}

/** The pageviews of a session in arrival order. */
export async function pageViewsOf(h: AnalyticsHarness, sessionId: string): Promise<PageViewRecord[]> {
  return h.database.db
    .select()
    .from(schema.analyticsPageViews)
    .where(eq(schema.analyticsPageViews.sessionId, sessionId))
    .orderBy(asc(schema.analyticsPageViews.enteredAt), asc(schema.analyticsPageViews.id))
}

/** Row counts of both tables. */
export async function rowCounts(h: AnalyticsHarness): Promise<{ sessions: number; pageviews: number }> {
  const rows = rowsOf<{ sessions: number; pageviews: number }>(
    await h.database.db.execute(sql`
      select (select count(*)::int from analytics_sessions) as sessions,
             (select count(*)::int from analytics_pageviews) as pageviews`),
  )
  return rows[0]!
}

/** Every column of every row of both tables, as text: for "this value is stored nowhere" checks. */
export async function dumpDatabase(h: AnalyticsHarness): Promise<string> {
  const rows = rowsOf<{ t: string }>(
    await h.database.db.execute(sql`
      select t::text as t from analytics_sessions t
      union all
      select t::text from analytics_pageviews t`),
  )
  return rows.map((r) => r.t).join('\n')
}

/** The stored form of a visitor id, computed independently of the service: HMAC-SHA256, hex. */
export const expectedVisitorHash = (visitorId: string) =>
  createHmac('sha256', VISITOR_SECRET).update(visitorId).digest('hex')

/** A GeoLookup that records every IP it is asked about. */
export function recordingGeo(answer: { country: string | null; city: string | null }) {
  const seen: string[] = []
  const geo: GeoLookup = {
    lookup(ip) {
      seen.push(ip)
      return { countryCode: null, ...answer }
    },
  }
  return { geo, seen }
}

/** A logger that drops everything (for unit tests of components that take one). */
export const silentLogger = {
  level: 'silent',
  fatal: () => {},
  error: () => {},
  warn: () => {},
  info: () => {},
  debug: () => {},
  trace: () => {},
  silent: () => {},
  child() {
    return this
  },
} as unknown as FastifyBaseLogger

/** Resolves once `predicate` holds, polling every few milliseconds (fails after `timeoutMs`). */
export async function waitFor(predicate: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const start = Date.now()
  while (!(await predicate())) {
    if (Date.now() - start > timeoutMs) throw new Error('waitFor: timed out')
    await new Promise((r) => setTimeout(r, 2))
  }
}
