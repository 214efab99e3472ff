import { spawnSync } from 'node:child_process'
import { createHmac } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { openDatabase } from '@bio/service-kit'
import { createTestDatabase } from '@bio/service-kit/testing'
import createClient from 'openapi-fetch'
import postgres from 'postgres'
import { buildAnalyticsApp } from '../../services/analytics/src/app.js'
import { loadAnalyticsConfig } from '../../services/analytics/src/config.js'
import { MIGRATIONS_FOLDER as ANALYTICS_MIGRATIONS } from '../../services/analytics/src/db/migrations.js'
import { schema as analyticsSchema } from '../../services/analytics/src/db/schema.js'
import { buildAuthApp } from '../../services/auth/src/app.js'
import { loadAuthConfig } from '../../services/auth/src/config.js'
import { MIGRATIONS_FOLDER as AUTH_MIGRATIONS } from '../../services/auth/src/db/migrations.js'
import { schema as authSchema } from '../../services/auth/src/db/schema.js'
import { argon2Hasher } from '../../services/auth/src/domain/password-hasher.js'
import type { paths as AnalyticsPaths } from '../../shared/openapi/analytics.js'
import type { paths as AuthPaths } from '../../shared/openapi/auth.js'
import { type DemoConfig, demoPage } from './demo-page.js'

const JWT_SECRET = 'e2e-jwt-secret-that-is-at-least-32-bytes-long'
const TRACKING_SECRET = 'e2e-tracking-secret-at-least-32-bytes-long!!'
export const VISITOR_SECRET = 'e2e-visitor-secret-at-least-32-bytes-long!!!'

const root = fileURLToPath(new URL('../..', import.meta.url))

/** Builds the tracker from its current source (esbuild, well under a second). */
export function buildTracker(): void {
  const res = spawnSync(process.execPath, ['scripts/build-tracker.mjs'], { cwd: root, encoding: 'utf8' })
  if (res.status !== 0) throw new Error(`tracker build failed: ${res.stderr}`)
}

/** The stored form of a visitor id (HMAC-SHA256 with the analytics service's key, hex). */
export const visitorHash = (visitorId: string) =>
  createHmac('sha256', VISITOR_SECRET).update(visitorId).digest('hex')

const listen = async (server: Server): Promise<string> => {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

export interface Stack {
  /** Origin of the demo site (its own port: a different origin from both APIs, the same site). */
  site: string
  analytics: string
  auth: string
  /** Typed clients (openapi-fetch over the committed OpenAPI documents). */
  analyticsApi: ReturnType<typeof createClient<AnalyticsPaths>>
  authApi: ReturnType<typeof createClient<AuthPaths>>
  /** SQL on each service's database. */
  analyticsSql: postgres.Sql
  authSql: postgres.Sql
  close(): Promise<void>
}

/**
 * Both services in this process, listening on 127.0.0.1 ephemeral ports over fresh migrated test
 * databases, with CORS_ORIGINS naming the demo site; and the demo site itself on a tiny
 * node:http server. Rate limits are off: every test's browser shares 127.0.0.1.
 */
export async function startStack(): Promise<Stack> {
  const closers: (() => Promise<unknown>)[] = []
  const close = async () => {
    for (const fn of closers.reverse()) await fn().catch(() => {})
  }
  try {
    const config: DemoConfig = { analytics: '', auth: '', loader: 'classic' }
    const siteServer = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://localhost')
      if (req.method !== 'GET' || url.pathname === '/favicon.ico') {
        res.writeHead(404).end()
        return
      }
      const loader = url.searchParams.get('loader') === 'module' ? 'module' : 'classic'
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
      res.end(demoPage({ ...config, loader }, url.pathname))
    })
    const site = await listen(siteServer)
    closers.push(() => new Promise((r) => siteServer.close(r)))
    siteServer.keepAliveTimeout = 1000

    const common = commonEnv(site)

    const [authDb, analyticsDb] = await Promise.all([
      createTestDatabase('e2e_auth'),
      createTestDatabase('e2e_analytics'),
    ])
    closers.push(
      () => authDb.drop(),
      () => analyticsDb.drop(),
    )

    const authConfig = loadAuthConfig({ ...common, AUTH_DATABASE_URL: authDb.url })
    const authDatabase = await openDatabase(authConfig.db, authSchema)
    closers.push(() => authDatabase.close())
    const analyticsConfig = loadAnalyticsConfig({
      ...common,
      ANALYTICS_DATABASE_URL: analyticsDb.url,
      TRACKING_HMAC_SECRET: TRACKING_SECRET,
      VISITOR_HASH_SECRET: VISITOR_SECRET,
    })
    const analyticsDatabase = await openDatabase(analyticsConfig.db, analyticsSchema)
    closers.push(() => analyticsDatabase.close())
    await Promise.all([
      authDatabase.migrate(AUTH_MIGRATIONS),
      analyticsDatabase.migrate(ANALYTICS_MIGRATIONS),
    ])

    const authApp = await buildAuthApp({
      config: authConfig,
      database: authDatabase,
      hasher: argon2Hasher({ memoryCost: 1024, timeCost: 1, parallelism: 1 }),
      logger: false,
    })
    closers.push(() => authApp.close())
    const analyticsApp = await buildAnalyticsApp({
      config: analyticsConfig,
      database: analyticsDatabase,
      logger: false,
    })
    closers.push(() => analyticsApp.close())
    const [auth, analytics] = await Promise.all([
      authApp.listen({ host: '127.0.0.1', port: 0 }).then(() => origin(authApp.server)),
      analyticsApp.listen({ host: '127.0.0.1', port: 0 }).then(() => origin(analyticsApp.server)),
    ])
    config.auth = auth
    config.analytics = analytics

    const analyticsSql = postgres(analyticsDb.url, { max: 2, onnotice: () => {} })
    const authSql = postgres(authDb.url, { max: 2, onnotice: () => {} })
    closers.push(
      () => analyticsSql.end(),
      () => authSql.end(),
    )
    return {
      site,
      analytics,
      auth,
      analyticsApi: createClient<AnalyticsPaths>({ baseUrl: analytics }),
      authApi: createClient<AuthPaths>({ baseUrl: auth }),
      analyticsSql,
      authSql,
      close,
    }
  } catch (err) {
    await close()
    throw err
  }
}

/** The environment both services of the stack share; CORS_ORIGINS names the demo site. */
const commonEnv = (site: string) => ({
  NODE_ENV: 'test',
  JWT_SECRET,
  LOG_LEVEL: 'silent',
  RATE_LIMIT_ENABLED: 'false',
  // A busy CI box must not turn answers into load-shedding 503s.
  OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0',
  CORS_ORIGINS: site,
})

/**
 * Another analytics service for the demo site, over the (empty) PostgreSQL at `databaseUrl`, which
 * it migrates: for a test that stops that database. Short connect timeout and probe interval.
 */
export async function startAnalyticsOn(databaseUrl: string, site: string) {
  const config = loadAnalyticsConfig({
    ...commonEnv(site),
    ANALYTICS_DATABASE_URL: databaseUrl,
    TRACKING_HMAC_SECRET: TRACKING_SECRET,
    VISITOR_HASH_SECRET: VISITOR_SECRET,
    DB_CONNECT_TIMEOUT_S: '1',
    INGEST_PROBE_INTERVAL_MS: '250',
  })
  const migrator = await openDatabase(config.db, analyticsSchema)
  await migrator.migrate(ANALYTICS_MIGRATIONS)
  await migrator.close()
  const app = await buildAnalyticsApp({ config, logger: false })
  await app.listen({ host: '127.0.0.1', port: 0 })
  return { origin: origin(app.server), close: () => app.close() }
}

const origin = (server: Server) => `http://127.0.0.1:${(server.address() as AddressInfo).port}`

/** Resolves once `check` returns a value other than undefined/false (polling), or fails after `timeoutMs`. */
export async function eventually<T>(
  check: () => Promise<T | undefined | false>,
  what: string,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined && value !== false) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
