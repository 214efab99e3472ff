import { openDatabase, rowsOf } from '@bio/service-kit'
import { outageEnv, sleep, startThrowawayCluster, type ThrowawayCluster } from '@bio/service-kit/testing'
import { sql } from 'drizzle-orm'
import type { InjectOptions, LightMyRequestResponse } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildAnalyticsApp } from '../src/app.js'
import { MIGRATIONS_FOLDER } from '../src/db/migrations.js'
import { schema } from '../src/db/schema.js'
import { uuidV7, uuidV7Time } from '../src/lib/uuid-v7.js'
import { A, type AnalyticsApp, CHROME_UA, sessionBody, testConfig } from './helper.js'

/**
 * The fault test: a real PostgreSQL (a throw-away cluster of this file's own, on its own port) is
 * stopped with `pg_ctl stop -m fast` for 10 s while clients that behave like the tracker (their
 * own UUIDv7 ids, retry on 503 honouring Retry-After, in order) send pageviews, leaves and
 * heartbeats. Every answer is a result or a 503; after the retries the database holds every view
 * exactly once, with its original time, and every session's counters equal its rows.
 */

const CLIENTS = 8
const OUTAGE_MS = 10_000

let cluster: ThrowawayCluster
let app: AnalyticsApp

beforeAll(async () => {
  cluster = await startThrowawayCluster()
  const config = testConfig(
    outageEnv({ connectTimeoutS: 1, statementTimeoutMs: 2000 }, { INGEST_PROBE_INTERVAL_MS: '250' }),
    cluster.url,
  )
  const migrator = await openDatabase(config.db, schema)
  await migrator.migrate(MIGRATIONS_FOLDER)
  await migrator.close()
  app = await buildAnalyticsApp({ config, logger: false })
}, 120_000)
afterAll(async () => {
  await app?.close()
  await cluster?.destroy()
}, 60_000)

interface Answer {
  op: string
  res: LightMyRequestResponse
}

/** A tracker-like client: sends one write until it is stored, honouring Retry-After on 503. */
function client(answers: Answer[]) {
  return async function send(op: string, request: InjectOptions) {
    for (;;) {
      const res = await app.inject(request)
      answers.push({ op, res })
      if (res.statusCode !== 503) return res
      await sleep(Number(res.headers['retry-after']) * 1000 * (0.5 + Math.random() / 2))
    }
  }
}

describe('a real PostgreSQL stops for 10 s under traffic', () => {
  it('every request gets its id or a 503; after retries every view is stored once and counters match', async () => {
    const answers: Answer[] = []
    const send = client(answers)
    const made = new Map<string, { sessionId: string }>()
    const lastSeq = new Map<string, number>()
    let running = true

    const visitor = async () => {
      const sessionId = uuidV7(Date.now())
      const res = await send('session', {
        method: 'POST',
        url: `${A}/session`,
        payload: sessionBody({ id: sessionId }),
        headers: { 'user-agent': CHROME_UA },
      })
      expect(res.json().data.id).toBe(sessionId)
      for (let seq = 1; running; seq++) {
        const viewId = uuidV7(Date.now())
        made.set(viewId, { sessionId })
        const view = await send('pageview', {
          method: 'POST',
          url: `${A}/pageview`,
          payload: { id: viewId, sessionId, path: `/v/${seq}` },
        })
        expect(view.json().data.id).toBe(viewId)
        await send('leave', {
          method: 'PATCH',
          url: `${A}/pageview/${viewId}/leave`,
          payload: { duration: 1 },
        })
        await send('heartbeat', {
          method: 'PATCH',
          url: `${A}/session/${sessionId}/heartbeat`,
          payload: { seq },
        })
        lastSeq.set(sessionId, seq)
        await sleep(50)
      }
    }

    const visitors = Promise.all(Array.from({ length: CLIENTS }, visitor))
    while (made.size < CLIENTS * 3) await sleep(20)
    await cluster.stop()
    const viewsBeforeOutage = made.size
    await sleep(OUTAGE_MS)
    await cluster.start()
    // Let every client get through at least a few more views after the restart.
    while (made.size < viewsBeforeOutage + CLIENTS * 3) await sleep(50)
    running = false
    await visitors

    // 1. Every request got its result or a retryable 503, nothing else.
    for (const { op, res } of answers) {
      if (res.statusCode === 503) {
        expect(res.json().error.code).toBe('SERVICE_UNAVAILABLE')
        expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1)
      } else {
        expect(res.statusCode, `${op}: ${res.body}`).toBe(200)
      }
    }
    const refused = answers.filter((a) => a.res.statusCode === 503)
    expect(refused.length, 'the outage was felt').toBeGreaterThan(0)

    // 2. Every view the clients made is stored exactly once, with its original time.
    const db = await openDatabase(testConfig({}, cluster.url).db, schema)
    try {
      const views = rowsOf<{ id: string; session_id: string; entered_at: Date }>(
        await db.db.execute(sql`select id::text, session_id::text, entered_at from analytics_pageviews`),
      )
      expect(views.length).toBe(made.size)
      for (const v of views) {
        const sent = made.get(v.id)
        expect(sent, v.id).toBeDefined()
        expect(v.session_id).toBe(sent!.sessionId)
        expect(new Date(v.entered_at).getTime()).toBe(uuidV7Time(v.id))
      }
      // 3. The sessions' counters equal their rows; heartbeats kept the last seq.
      const sessions = rowsOf<{
        id: string
        page_views: number
        rows: number
        bounced: boolean
        seq: number
      }>(
        await db.db.execute(sql`
          select s.id::text, s.page_views, s.bounced, s.heartbeat_seq as seq,
                 (select count(*)::int from analytics_pageviews p where p.session_id = s.id) as rows
          from analytics_sessions s`),
      )
      expect(sessions.length).toBe(CLIENTS)
      for (const s of sessions) {
        expect(s.page_views, s.id).toBe(s.rows)
        expect(s.bounced).toBe(s.rows < 2)
        expect(s.seq).toBe(lastSeq.get(s.id))
      }
    } finally {
      await db.close()
    }
  }, 120_000)
})
