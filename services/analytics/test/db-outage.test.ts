import {
  lockTable,
  outageEnv,
  proxyDatabase,
  type Sample,
  sampler,
  sleep,
  type TcpProxy,
  waitUntilReady,
} from '@bio/shared/testing'
import { inArray } from 'drizzle-orm'
import type { LightMyRequestResponse } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildAnalyticsApp } from '../src/app.js'
import { schema } from '../src/db/schema.js'
import {
  A,
  type AnalyticsApp,
  type AnalyticsHarness,
  analyticsHarness,
  bearer,
  CHROME_UA,
  expectError,
  sessionBody,
  testConfig,
  UUID_RE,
} from './helper.js'

/**
 * A database outage, simulated by a TCP proxy between the app and PostgreSQL while traffic runs:
 * the ingest routes keep the contract's silent answers (`{ id: null }`, `{ ok: true }`, never a
 * 500 and never a hang), /readyz says 503, the service recovers by itself once the database is
 * back, and every id it answered is in the database afterwards.
 */

const CONNECT_TIMEOUT_S = 1
const STATEMENT_TIMEOUT_MS = 300
/** The batcher's one retry of a transient failure waits this long (batcher default). */
const RETRY_DELAY_MS = 200
/** A write may be tried twice, each attempt bounded by the connect timeout; plus CI slack. */
const MAX_REQUEST_MS = 2 * CONNECT_TIMEOUT_S * 1000 + RETRY_DELAY_MS + 1500

let h: AnalyticsHarness
let proxy: TcpProxy
let app: AnalyticsApp

async function proxiedApp(env: Record<string, string> = {}) {
  const config = testConfig(
    outageEnv({ connectTimeoutS: CONNECT_TIMEOUT_S, statementTimeoutMs: STATEMENT_TIMEOUT_MS }, env),
    proxy.url(h.testDb.url),
  )
  return buildAnalyticsApp({ config, logger: false })
}

beforeAll(async () => {
  h = await analyticsHarness()
  proxy = await proxyDatabase(h.testDb.url)
  app = await proxiedApp()
})
afterAll(async () => {
  await app?.close()
  await proxy?.close()
  await h?.close()
})

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

const idOf = (res: LightMyRequestResponse): string | null => (res.json().data as { id: string | null }).id

/**
 * Workers until `stop` is called: one opens sessions, one records pageviews on the sessions it
 * has, one sends leave, heartbeat and identify pings. Every request is timed; every id answered
 * is collected.
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

/** The contract's answers only: 200 with an id or null, or `{ ok: true }`; none took too long. */
function expectSilentAnswers(samples: Sample[]) {
  for (const { op, ms, res } of samples) {
    expect(ms, `${op} took ${ms} ms`).toBeLessThan(MAX_REQUEST_MS)
    expect(res.statusCode, `${op}: ${res.body}`).toBe(200)
    const data = res.json().data as Record<string, unknown>
    if (op === 'session' || op === 'pageview') {
      expect(Object.keys(data)).toEqual(['id'])
      if (data.id !== null) expect(data.id).toMatch(UUID_RE)
    } else {
      expect(data).toEqual({ ok: true })
    }
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
  it('keeps the silent answers during the outage, recovers on its own, loses no acknowledged id', async () => {
    const seed = await newSession(app)
    const traffic = runTraffic(app, seed)
    await sleep(400)

    await proxy.stop()
    const downAt = Date.now()
    await sleep(900)
    const ready = await app.inject({ method: 'GET', url: '/readyz' })
    expectError(ready, 503, 'SERVICE_UNAVAILABLE')
    expect(ready.headers['retry-after']).toBeDefined()
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200)
    await sleep(300)
    const upAt = Date.now()
    await proxy.start()

    expect(await waitUntilReady(app)).toBeLessThan(5000)
    const since = Date.now()
    for (let i = 0; i < 100; i++) {
      const fresh = traffic.samples.filter((s) => s.startedAt >= since && s.res.json().data.id)
      if (['session', 'pageview'].every((op) => fresh.some((s) => s.op === op))) break
      await sleep(50)
    }
    await sleep(200)
    await traffic.stop()

    const { samples } = traffic
    expectSilentAnswers(samples)
    // Writes that started while the database was down were answered with null.
    const during = samples.filter(
      (s) =>
        (s.op === 'session' || s.op === 'pageview') && s.startedAt > downAt + 50 && s.startedAt + s.ms < upAt,
    )
    expect(during.length, 'writes made while the database was down').toBeGreaterThan(2)
    for (const s of during) expect(idOf(s.res), `${s.op} during the outage`).toBeNull()
    // ...and new writes get ids again afterwards, without a restart.
    const after = samples.filter((s) => s.startedAt >= since && idOf(s.res) !== null)
    expect(after.some((s) => s.op === 'session')).toBe(true)
    expect(after.some((s) => s.op === 'pageview')).toBe(true)
    await expectAllPersisted([seed, ...traffic.sessionIds], traffic.viewIds)
  })
})

describe('database unreachable: connections hang (a black hole)', () => {
  it('answers { id: null } / { ok: true } within the connect timeout (and its one retry), then recovers', async () => {
    const fresh = await proxiedApp()
    try {
      await proxy.blackhole()
      const started = Date.now()
      const [ready, session, view, beat] = await Promise.all([
        fresh.inject({ method: 'GET', url: '/readyz' }),
        postSession(fresh),
        postPageView(fresh, '7f0c0e8e-5d6b-4c1a-9f3e-000000000000', '/'),
        fresh.inject({ method: 'PATCH', url: `${A}/session/7f0c0e8e-5d6b-4c1a-9f3e-000000000000/heartbeat` }),
      ])
      const took = Date.now() - started
      expectError(ready, 503, 'SERVICE_UNAVAILABLE')
      expect(session.json()).toEqual({ success: true, data: { id: null } })
      expect(view.json()).toEqual({ success: true, data: { id: null } })
      expect(beat.json()).toEqual({ success: true, data: { ok: true } })
      expect(took).toBeGreaterThanOrEqual(CONNECT_TIMEOUT_S * 1000 - 100)
      expect(took).toBeLessThan(MAX_REQUEST_MS)
    } finally {
      await proxy.start()
    }
    await waitUntilReady(fresh)
    await newSession(fresh)
    await fresh.close()
  })
})

describe('a statement that cannot finish (a table locked by someone else)', () => {
  it('is cut by DB_STATEMENT_TIMEOUT_MS: { id: null } after one retry, then normal service', async () => {
    const lock = await lockTable(h.testDb.url, 'analytics_sessions')
    try {
      const started = Date.now()
      const res = await postSession(app)
      const took = Date.now() - started
      expect(res.json()).toEqual({ success: true, data: { id: null } })
      // Two attempts, each cut by the statement timeout, and the retry delay between them.
      expect(took).toBeGreaterThanOrEqual(2 * STATEMENT_TIMEOUT_MS + RETRY_DELAY_MS - 50)
      expect(took).toBeLessThan(2 * STATEMENT_TIMEOUT_MS + RETRY_DELAY_MS + 1500)
    } finally {
      await lock.release()
    }
    await newSession(app)
  })
})

describe('shutdown during an outage', () => {
  it('app.close() answers every queued write (null) and finishes instead of waiting for the database', async () => {
    const closing = await proxiedApp({ INGEST_MAX_WAIT_MS: '50' })
    await newSession(closing)
    await proxy.stop()
    try {
      const requests = Array.from({ length: 10 }, () => postSession(closing))
      await sleep(10)
      const started = Date.now()
      await closing.close()
      expect(Date.now() - started).toBeLessThan(MAX_REQUEST_MS)
      for (const res of await Promise.all(requests)) {
        // Either refused because the app was already closing, or answered with the silent null.
        if (res.statusCode === 503) expectError(res, 503, 'SERVICE_UNAVAILABLE')
        else expect(res.json()).toEqual({ success: true, data: { id: null } })
      }
    } finally {
      await proxy.start()
    }
  })
})
