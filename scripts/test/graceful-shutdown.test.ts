import {
  type BuiltServer,
  buildServices,
  createTestDatabase,
  lockTable,
  type ServerLogLine,
  startBuiltServer,
  type TestDatabase,
} from '@bio/service-kit/testing'
import postgres from 'postgres'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

/**
 * The built servers (`node services/<svc>/dist/server.js`, what production runs) under SIGTERM and
 * SIGINT while requests are in flight: every request that reached the server is answered, every
 * acknowledged write is committed, and the process exits 0 within SHUTDOWN_TIMEOUT_MS. A shutdown
 * that overruns the budget exits 1. Their logs are one JSON object per line with the correlation id.
 */

const SHUTDOWN_TIMEOUT_MS = 5000
const SECRETS = {
  JWT_SECRET: 'graceful-shutdown-test-secret-32-bytes-or-more!',
  TRACKING_HMAC_SECRET: 'graceful-shutdown-tracking-secret-32-bytes!!',
  VISITOR_HASH_SECRET: 'graceful-shutdown-visitor-secret-32-bytes!!!',
  LOGIN_THROTTLE_SECRET: 'graceful-shutdown-throttle-secret-32-bytes!!',
}
const CHROME_UA =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36'

let authDb: TestDatabase
let analyticsDb: TestDatabase

beforeAll(async () => {
  // `npm test` builds first; a direct `vitest run` gets an up-to-date build here (a no-op when fresh).
  buildServices()
  ;[authDb, analyticsDb] = await Promise.all([createTestDatabase('sigterm'), createTestDatabase('sigterm')])
}, 60_000)
afterAll(async () => {
  await Promise.all([authDb?.drop(), analyticsDb?.drop()])
})

type LogLine = ServerLogLine
type Running = BuiltServer

const startServer = (service: 'auth' | 'analytics', env: Record<string, string>): Promise<Running> =>
  startBuiltServer(service, {
    env: {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      RATE_LIMIT_ENABLED: 'false',
      OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0',
      SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
      // Production requires SMTP; nothing listens here, so queued mail just waits in the outbox.
      ...(service === 'auth' ? { SMTP_URL: 'smtp://127.0.0.1:9' } : {}),
      ...SECRETS,
      ...env,
    },
  })

const incoming = (logs: LogLine[]) => logs.filter((l) => l.msg === 'incoming request')

interface Answer {
  status: number
  body: Record<string, unknown> | null
  error?: string
}

const send = (url: string, init: RequestInit): Promise<Answer> =>
  fetch(url, init).then(
    async (res) => ({ status: res.status, body: (await res.json()) as Record<string, unknown> }),
    (err: Error & { cause?: { code?: string } }) => ({
      status: 0,
      body: null,
      error: err.cause?.code ?? err.message,
    }),
  )

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  send(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  })

/** Structured logs only, and every request line carries its correlation id. */
function expectStructuredLogs(server: Running) {
  expect(server.garbage, 'non-JSON stdout lines').toEqual([])
  const requestLines = server.logs.filter((l) => l.req !== undefined || l.res !== undefined)
  expect(requestLines.length).toBeGreaterThan(0)
  for (const line of requestLines)
    expect(line.correlationId, JSON.stringify(line)).toEqual(expect.any(String))
}

async function rowsWithIds(url: string, table: string, ids: string[]): Promise<number> {
  const sql = postgres(url, { max: 1, onnotice: () => {} })
  try {
    const [row] = await sql`select count(*)::int as n from ${sql(table)} where id = any(${ids}::uuid[])`
    return row!.n as number
  } finally {
    await sql.end()
  }
}

describe('auth: SIGTERM while requests are in flight', () => {
  it('answers every in-flight register (real argon2), commits them, exits 0 within the budget', async () => {
    const server = await startServer('auth', { AUTH_PORT: '0', AUTH_DATABASE_URL: authDb.url })
    const before = incoming(server.logs).length
    const N = 8
    const requests = Array.from({ length: N }, (_, i) =>
      post(`${server.base}/api/v1/auth/register`, {
        email: `sigterm.${i}.${Date.now()}@example.com`,
        password: 'Correct-Horse1',
        acceptedTerms: true,
        acceptedPrivacy: true,
      }),
    )
    // Every request has reached the server (it logged it) before the signal.
    await server.waitFor(() => incoming(server.logs).length >= before + N, 'the requests to arrive')
    const signalledAt = Date.now()
    server.child.kill('SIGTERM')
    const answers = await Promise.all(requests)
    const { code, at } = await server.exited

    expect(code, server.stderr.join('')).toBe(0)
    expect(at - signalledAt).toBeLessThan(SHUTDOWN_TIMEOUT_MS)
    for (const answer of answers) expect(answer.status, JSON.stringify(answer)).toBe(201)
    const ids = answers.map((a) => (a.body!.data as { userId: string }).userId)
    expect(await rowsWithIds(authDb.url, 'users', ids)).toBe(N)
    expect(server.logs.some((l) => l.msg === 'shutting down' && l.signal === 'SIGTERM')).toBe(true)
    expectStructuredLogs(server)
  })

  it('SIGINT on an idle server: exits 0 promptly; afterwards connections are refused', async () => {
    const server = await startServer('auth', {
      AUTH_PORT: '0',
      AUTH_DATABASE_URL: authDb.url,
    })
    expect((await send(`${server.base}/readyz`, {})).status).toBe(200)
    const signalledAt = Date.now()
    server.child.kill('SIGINT')
    const { code, at } = await server.exited
    expect(code).toBe(0)
    expect(at - signalledAt).toBeLessThan(SHUTDOWN_TIMEOUT_MS)
    expect((await send(`${server.base}/healthz`, {})).error).toBe('ECONNREFUSED')
  })
})

describe('analytics: SIGTERM while writes wait in the group-commit queue', () => {
  it('answers and commits every queued write, then exits 0 within the budget', async () => {
    const server = await startServer('analytics', {
      ANALYTICS_PORT: '0',
      ANALYTICS_DATABASE_URL: analyticsDb.url,
      // Writes wait a whole second for their batch: at SIGTERM they are all still queued.
      INGEST_MAX_WAIT_MS: '1000',
    })
    const A = `${server.base}/api/v1/analytics`
    const seed = await post(
      `${A}/session`,
      { visitorId: 'seed', consentAnalytics: 'granted' },
      { 'user-agent': CHROME_UA },
    )
    const seedId = (seed.body!.data as { id: string }).id
    expect(seedId).toMatch(/^[0-9a-f-]{36}$/)

    const before = incoming(server.logs).length
    const sessions = Array.from({ length: 10 }, (_, i) =>
      post(`${A}/session`, { visitorId: `v${i}`, consentAnalytics: 'granted' }, { 'user-agent': CHROME_UA }),
    )
    const views = Array.from({ length: 10 }, (_, i) =>
      post(`${A}/pageview`, { sessionId: seedId, path: `/${i}` }),
    )
    await server.waitFor(() => incoming(server.logs).length >= before + 20, 'the requests to arrive')
    const signalledAt = Date.now()
    server.child.kill('SIGTERM')
    const [sessionAnswers, viewAnswers] = [await Promise.all(sessions), await Promise.all(views)]
    const { code, at } = await server.exited

    expect(code, server.stderr.join('')).toBe(0)
    // Queued writes are flushed (at the latest when their batching window ends), within the budget.
    expect(at - signalledAt).toBeLessThan(SHUTDOWN_TIMEOUT_MS)
    const idsOf = (answers: Answer[]) =>
      answers.map((a) => {
        expect(a.status, JSON.stringify(a)).toBe(200)
        const id = (a.body!.data as { id: string | null }).id
        expect(id).toMatch(/^[0-9a-f-]{36}$/)
        return id!
      })
    expect(await rowsWithIds(analyticsDb.url, 'analytics_sessions', idsOf(sessionAnswers))).toBe(10)
    expect(await rowsWithIds(analyticsDb.url, 'analytics_pageviews', idsOf(viewAnswers))).toBe(10)
    expectStructuredLogs(server)
  })

  it('a shutdown that overruns SHUTDOWN_TIMEOUT_MS exits 1 (a write stuck behind a lock)', async () => {
    const server = await startServer('analytics', {
      ANALYTICS_PORT: '0',
      ANALYTICS_DATABASE_URL: analyticsDb.url,
      SHUTDOWN_TIMEOUT_MS: '300',
      DB_STATEMENT_TIMEOUT_MS: '5000',
    })
    const lock = await lockTable(analyticsDb.url, 'analytics_sessions')
    try {
      const before = incoming(server.logs).length
      const stuck = post(
        `${server.base}/api/v1/analytics/session`,
        { visitorId: 'stuck', consentAnalytics: 'granted' },
        { 'user-agent': CHROME_UA },
      )
      await server.waitFor(() => incoming(server.logs).length > before, 'the request to arrive')
      const signalledAt = Date.now()
      server.child.kill('SIGTERM')
      const { code, at } = await server.exited
      expect(code).toBe(1)
      expect(at - signalledAt).toBeGreaterThanOrEqual(250)
      expect(at - signalledAt).toBeLessThan(3000)
      expect(server.logs.some((l) => l.msg === 'shutdown timed out')).toBe(true)
      await stuck
    } finally {
      await lock.release()
    }
  })
})
