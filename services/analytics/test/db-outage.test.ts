import { once } from 'node:events'
import { lockTable, outageEnv, type Sample, sampler, sleep, useProxiedApps } from '@bio/service-kit/testing'
import { inArray } from 'drizzle-orm'
import type { LightMyRequestResponse } from 'fastify'
import { describe, expect, it } from 'vitest'
import { buildAnalyticsApp } from '../src/app.js'
import { schema } from '../src/db/schema.js'
import {
  A,
  type AnalyticsApp,
  bearer,
  CHROME_UA,
  expectError,
  expectNotStored,
  sessionBody,
  testConfig,
  UUID_RE,
  useAnalyticsHarness,
  waitFor,
} from './helper.js'

/**
 * A database outage, simulated by a TCP proxy between the app and PostgreSQL while traffic runs:
 * a write that cannot be committed is answered 503 SERVICE_UNAVAILABLE with Retry-After (never a
 * 500, never a silent null, never a hang); once the breaker knows the database is down, writes are
 * answered without trying; /readyz says 503; the service recovers by itself once a probe answers,
 * and every id it answered is in the database afterwards. The tests wait on the breaker's events,
 * not on the wall clock.
 */

const CONNECT_TIMEOUT_S = 1
const STATEMENT_TIMEOUT_MS = 300
/** The batcher's one retry of a transient failure waits this long (batcher default). */
const RETRY_DELAY_MS = 200

const h = useAnalyticsHarness({ app: false })

/** Apps whose own pool reaches the test database through the proxy. */
const outage = useProxiedApps(
  () => h.testDb.url,
  (url, env) => {
    const timeouts = { connectTimeoutS: CONNECT_TIMEOUT_S, statementTimeoutMs: STATEMENT_TIMEOUT_MS }
    const config = testConfig(outageEnv(timeouts, { INGEST_PROBE_INTERVAL_MS: '100', ...env }), url)
    return buildAnalyticsApp({ config, logger: false })
  },
)

const USER = '0c0c0c0c-0000-4000-8000-000000000001'

const postSession = (target: AnalyticsApp) =>
  target.inject({
    method: 'POST',
    url: `${A}/session`,
    payload: sessionBody(),
    headers: { 'user-agent': CHROME_UA },
  })
const postPageView = (target: AnalyticsApp, sessionId: string, path: string) =>
  target.inject({ method: 'POST', url: `${A}/pageview`, payload: { sessionId, path } })

const idOf = (res: LightMyRequestResponse): string | null =>
  res.statusCode === 200 ? (res.json().data as { id: string | null }).id : null
const isNotStored = (res: LightMyRequestResponse) => res.statusCode === 503

/**
 * Workers until `stop` is called: one opens sessions, one records pageviews on the sessions it
 * has, one sends leave, heartbeat and identify pings. Every id answered is collected.
 */
function runTraffic(target: AnalyticsApp, seedSession: string) {
  const { samples, timed } = sampler()
  const sessionIds = new Set<string>()
  const viewIds = new Set<string>()
  let running = true
  const sessions = async () => {
    while (running) {
      const id = idOf(await timed('session', () => postSession(target)))
      if (id) sessionIds.add(id)
      await sleep(10)
    }
  }
  const views = async () => {
    for (let i = 0; running; i++) {
      const known = [seedSession, ...sessionIds]
      const sessionId = known[i % known.length]!
      const id = idOf(await timed('pageview', () => postPageView(target, sessionId, `/p/${i}`)))
      if (id) viewIds.add(id)
      await sleep(10)
    }
  }
  const pings = async () => {
    for (let i = 0; running; i++) {
      const view = [...viewIds].at(-1) ?? seedSession
      await timed('leave', () =>
        target.inject({ method: 'PATCH', url: `${A}/pageview/${view}/leave`, payload: { duration: i % 50 } }),
      )
      await timed('heartbeat', () =>
        target.inject({ method: 'PATCH', url: `${A}/session/${seedSession}/heartbeat` }),
      )
      await timed('identify', () =>
        target.inject({
          method: 'PATCH',
          url: `${A}/session/${seedSession}/identify`,
          headers: { authorization: bearer(USER) },
        }),
      )
      await sleep(10)
    }
  }
  const done = Promise.all([sessions(), views(), pings()])
  return {
    samples,
    sessionIds,
    viewIds,
    async stop() {
      running = false
      await done
    },
  }
}

/** Every answer is a stored result (an id, `{ ok: true }`) or a retryable 503; never a null id, never a 500. */
function expectStoredOrRetryable(samples: Sample[]) {
  for (const { op, res } of samples) {
    if (isNotStored(res)) {
      expectNotStored(res)
      continue
    }
    expect(res.statusCode, `${op}: ${res.body}`).toBe(200)
    const data = res.json().data as Record<string, unknown>
    if (op === 'session' || op === 'pageview') expect(data.id, op).toMatch(UUID_RE)
    else expect(data).toEqual({ ok: true })
  }
}

async function expectAllPersisted(sessionIds: Iterable<string>, viewIds: Iterable<string>) {
  const sessions = [...sessionIds]
  const views = [...viewIds]
  const db = h.database.db
  if (sessions.length > 0) {
    const rows = await db
      .select({ id: schema.analyticsSessions.id })
      .from(schema.analyticsSessions)
      .where(inArray(schema.analyticsSessions.id, sessions))
    expect(rows.length, 'acknowledged sessions').toBe(sessions.length)
  }
  if (views.length > 0) {
    const rows = await db
      .select({ id: schema.analyticsPageViews.id })
      .from(schema.analyticsPageViews)
      .where(inArray(schema.analyticsPageViews.id, views))
    expect(rows.length, 'acknowledged pageviews').toBe(views.length)
  }
}

async function newSession(target: AnalyticsApp): Promise<string> {
  const id = idOf(await postSession(target))
  expect(id).toMatch(UUID_RE)
  return id!
}

describe('database outage: PostgreSQL stops (connections refused, open ones reset)', () => {
  it('answers 503 with Retry-After while down, recovers on its own, loses no acknowledged id', async () => {
    const seed = await newSession(outage.app)
    const traffic = runTraffic(outage.app, seed)
    await waitFor(() => traffic.viewIds.size >= 3)

    const opened = once(outage.app.ingest.breaker, 'open')
    await outage.proxy.stop()
    await opened
    const openedAt = traffic.samples.length
    // Every kind of write made while the database is down is answered 503 (waits for one of each).
    const OPS = ['session', 'pageview', 'leave', 'heartbeat', 'identify']
    const refusedOps = () =>
      new Set(
        traffic.samples
          .slice(openedAt)
          .filter((s) => isNotStored(s.res))
          .map((s) => s.op),
      )
    await waitFor(() => OPS.every((op) => refusedOps().has(op)), 15_000)
    const ready = await outage.app.inject({ method: 'GET', url: '/readyz' })
    expectError(ready, 503, 'SERVICE_UNAVAILABLE')
    expect(ready.headers['retry-after']).toBeDefined()
    expect((await outage.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200)

    const closed = once(outage.app.ingest.breaker, 'close')
    await outage.proxy.start()
    await closed
    const recoveredAt = traffic.samples.length
    const fresh = () => traffic.samples.slice(recoveredAt).filter((s) => idOf(s.res) !== null)
    await waitFor(() => ['session', 'pageview'].every((op) => fresh().some((s) => s.op === op)))
    await traffic.stop()

    expectStoredOrRetryable(traffic.samples)
    for (const op of OPS) {
      expect(
        traffic.samples.some((s) => s.op === op && isNotStored(s.res)),
        `${op} answered 503 during the outage`,
      ).toBe(true)
    }
    await expectAllPersisted([seed, ...traffic.sessionIds], traffic.viewIds)
  })
})

describe('database unreachable: connections hang (a black hole)', () => {
  it('the first write waits out the connect timeout and its retry; later ones are answered 503 at once', async () => {
    const fresh = await outage.build({ INGEST_PROBE_INTERVAL_MS: '60000' })
    try {
      await outage.proxy.blackhole()
      const started = Date.now()
      const [ready, session] = await Promise.all([
        fresh.inject({ method: 'GET', url: '/readyz' }),
        postSession(fresh),
      ])
      expectError(ready, 503, 'SERVICE_UNAVAILABLE')
      expectNotStored(session)
      // It did wait for the database: at least one connect timeout (a lower bound, safe under load).
      expect(Date.now() - started).toBeGreaterThanOrEqual(CONNECT_TIMEOUT_S * 1000 - 100)
      expect(fresh.ingest.breaker.isOpen).toBe(true)
      // Now known down: nothing more is sent to the database.
      const batches = () => Object.values(fresh.ingest.stats()).reduce((n, s) => n + s.batches, 0)
      const before = batches()
      const answers = await Promise.all([
        postSession(fresh),
        postPageView(fresh, '7f0c0e8e-5d6b-4c1a-9f3e-000000000000', '/'),
        fresh.inject({ method: 'PATCH', url: `${A}/session/7f0c0e8e-5d6b-4c1a-9f3e-000000000000/heartbeat` }),
      ])
      for (const res of answers) expectNotStored(res)
      expect(batches()).toBe(before)
    } finally {
      await outage.proxy.start()
    }
    await fresh.close()
  })
})

describe('a statement that cannot finish (a table locked by someone else)', () => {
  it('is cut by DB_STATEMENT_TIMEOUT_MS: 503 after one retry, then normal service', async () => {
    const lock = await lockTable(h.testDb.url, 'analytics_sessions')
    try {
      const started = Date.now()
      const res = await postSession(outage.app)
      expectNotStored(res)
      // Two attempts, each cut by the statement timeout, and the retry delay between them.
      expect(Date.now() - started).toBeGreaterThanOrEqual(2 * STATEMENT_TIMEOUT_MS + RETRY_DELAY_MS - 50)
    } finally {
      await lock.release()
    }
    // The probe (select 1) answered all along, so the breaker closes by itself.
    if (outage.app.ingest.breaker.isOpen) await once(outage.app.ingest.breaker, 'close')
    await newSession(outage.app)
  })
})

describe('shutdown during an outage', () => {
  it('app.close() answers every queued write 503 and finishes without waiting for the database', async () => {
    const closing = await outage.build({ INGEST_MAX_WAIT_MS: '1000' })
    await newSession(closing)
    await outage.proxy.stop()
    try {
      const requests = Array.from({ length: 10 }, () => postSession(closing))
      const queued = () => Object.values(closing.ingest.stats()).reduce((n, s) => n + s.queued, 0)
      await waitFor(() => queued() === 10)
      const batchesBefore = closing.ingest.stats().sessions!.batches
      await closing.close()
      for (const res of await Promise.all(requests)) expectNotStored(res)
      // One attempt per lane at most: the first refusal opened the breaker, which answered the rest.
      expect(closing.ingest.stats().sessions!.batches - batchesBefore).toBeLessThanOrEqual(2)
    } finally {
      await outage.proxy.start()
    }
  })
})
