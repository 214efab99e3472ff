import { type DatabaseHandle, openDatabase } from '@bio/service-kit'
import { sql } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildAnalyticsApp } from '../src/app.js'
import { MIGRATIONS_FOLDER } from '../src/db/migrations.js'
import { type AnalyticsSchema, schema } from '../src/db/schema.js'
import { eraseMe, exportMe, forget, rowsHolding, seedVisits } from './erasure-helper.js'
import {
  type AnalyticsApp,
  bearer,
  expectedVisitorHash,
  expectNullId,
  postSession,
  sessionBody,
  testConfig,
} from './helper.js'

/** Erasure and export on the embedded database (PGlite: one connection, the same SQL and cursors). */

let database: DatabaseHandle<AnalyticsSchema>
let app: AnalyticsApp
beforeAll(async () => {
  const config = testConfig({ RATE_LIMIT_ENABLED: 'false' })
  database = await openDatabase({ ...config.db, url: undefined, dataDir: 'memory://' }, schema)
  expect(database.kind).toBe('pglite')
  await database.migrate(MIGRATIONS_FOLDER)
  app = await buildAnalyticsApp({ config, database, closeDatabase: true, logger: false })
})
afterAll(async () => {
  await app?.close()
})

const USER = '9c0d1e2f-0000-4000-8000-00000000d001'

describe('PGlite: erasure and access', () => {
  it('exports across several cursor batches, then erases; nothing of the user is left', async () => {
    await seedVisits(app, { userId: USER, visitorId: 'v-pglite-1', views: 2 })
    // Past one batch of 500 rows: the cursor is fetched from more than once.
    await database.db.execute(sql`
      insert into analytics_pageviews (id, session_id, path, entered_at)
      select gen_random_uuid(), s.id, '/bulk/' || g, now() from analytics_sessions s, generate_series(1, 1200) g
      where s.user_id = ${USER}`)
    const exported = await exportMe(app, bearer(USER))
    expect(exported.statusCode, exported.body).toBe(200)
    const { data } = exported.json() as { data: { sessions: unknown[]; pageviews: unknown[] } }
    expect(data.sessions).toHaveLength(1)
    expect(data.pageviews).toHaveLength(1202)

    expect((await eraseMe(app, bearer(USER))).json()).toEqual({
      success: true,
      data: { sessions: 1, pageviews: 1202 },
    })
    expect(await rowsHolding({ database }, USER)).toEqual([])
  })

  it('forgets a visitor; its id then starts nothing', async () => {
    const visitorId = 'v-pglite-2'
    await seedVisits(app, { visitorId, sessions: 2, views: 1 })
    const res = await forget(app, { visitorId })
    expect(res.json()).toEqual({ success: true, data: { sessions: 2, pageviews: 2, detached: 0 } })
    expect(await rowsHolding({ database }, expectedVisitorHash(visitorId))).toEqual([])
    expectNullId(await postSession(app, sessionBody({ visitorId })))
  })
})
