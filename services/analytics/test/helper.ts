import { createAccessTokenSigner, type DatabaseHandle, openDatabase } from '@bio/shared'
import { createTestDatabase, type TestDatabase } from '@bio/shared/testing'
import { buildAnalyticsApp } from '../src/app.js'
import { type AnalyticsConfig, loadAnalyticsConfig } from '../src/config.js'
import { MIGRATIONS_FOLDER } from '../src/db/migrations.js'
import { type AnalyticsSchema, schema } from '../src/db/schema.js'
import type { GeoLookup } from '../src/lib/geoip.js'

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
    ...(dbUrl ? { ANALYTICS_DATABASE_URL: dbUrl } : {}),
    ...env,
  })
}

/** Signs access tokens exactly as the auth service does (same shared signer, same key). */
export const signToken = (userId: string, sessionId = '00000000-0000-4000-8000-000000000000') =>
  createAccessTokenSigner({ ...testConfig().tokens, ttlSeconds: 900 })({ userId, sessionId }).accessToken

export interface AnalyticsHarness {
  testDb: TestDatabase
  database: DatabaseHandle<AnalyticsSchema>
  build(options?: {
    env?: Record<string, string>
    now?: () => number
    geo?: GeoLookup
  }): ReturnType<typeof buildAnalyticsApp>
  close(): Promise<void>
}

/** A fresh migrated PostgreSQL database for one test file, and a builder for apps over it. */
export async function analyticsHarness(): Promise<AnalyticsHarness> {
  const testDb = await createTestDatabase('analytics')
  const database = await openDatabase(testConfig({}, testDb.url).db, schema)
  await database.migrate(MIGRATIONS_FOLDER)
  const apps: Awaited<ReturnType<typeof buildAnalyticsApp>>[] = []
  return {
    testDb,
    database,
    async build(options = {}) {
      const config = testConfig({ RATE_LIMIT_ENABLED: 'false', ...options.env }, testDb.url)
      const app = await buildAnalyticsApp({
        config,
        database,
        now: options.now,
        geo: options.geo,
        logger: false,
      })
      apps.push(app)
      return app
    },
    async close() {
      await Promise.all(apps.map((a) => a.close()))
      await database.close()
      await testDb.drop()
    },
  }
}

/** A consenting session body. */
export const sessionBody = (overrides: Record<string, unknown> = {}) => ({
  visitorId: `visitor-${Math.random().toString(36).slice(2)}`,
  consentAnalytics: 'granted',
  ...overrides,
})
