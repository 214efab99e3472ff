import { isUuid } from '@bio/contracts'
import { rowsOf } from '@bio/service-kit'
import { holdLocks } from '@bio/service-kit/testing'
import { sql } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { uuidV7 } from '../src/lib/uuid-v7.js'
import { eraseMe, rowsHolding, seedVisits } from './erasure-helper.js'
import {
  bearer,
  expectNullId,
  identify,
  postPageView,
  postSession,
  sessionBody,
  useAnalyticsHarness,
  waitFor,
} from './helper.js'

const h = useAnalyticsHarness()

/** Holds FOR UPDATE on one session row from another connection until released: the writes on it wait. */
async function holdRow(id: string) {
  if (!isUuid(id)) throw new Error(`not a uuid: ${id}`)
  const lock = await holdLocks(h.testDb.url, `select 1 from analytics_sessions where id = '${id}' for update`)
  return () => lock.release()
}

/** Resolves once a statement waits for a lock of `mode` on analytics_sessions (pg_locks: a state, not a delay). */
const untilWaiting = (mode: string) =>
  waitFor(async () => {
    const [row] = rowsOf<{ n: number }>(
      await h.database.db.execute(sql`select count(*)::int as n from pg_locks l join pg_class c on c.oid = l.relation
        where c.relname = 'analytics_sessions' and not l.granted and l.mode = ${mode}`),
    )
    return (row?.n ?? 0) > 0
  }, 20_000)

/** Resolves once a statement whose text starts with `prefix` waits on a row or table lock. */
const untilBlocked = (prefix: string) =>
  waitFor(async () => {
    const rows = rowsOf<{ pid: number }>(
      await h.database.db.execute(sql`select pid from pg_stat_activity
        where wait_event_type = 'Lock' and ltrim(query, E' \\n\\t') like ${`${prefix}%`}`),
    )
    return rows.length > 0
  }, 20_000)

describe('erasure against ingest in flight (held with row locks, observed in pg_locks)', () => {
  it('an identify in flight when the erasure starts commits first and is erased with the rest', async () => {
    const USER = '7a8b9c0d-0000-4000-8000-00000000b001'
    await seedVisits(h.app, { userId: USER, visitorId: 'v-race-1', views: 1 })
    const [pending] = await seedVisits(h.app, { visitorId: 'v-race-1', views: 2 })
    const release = await holdRow(pending!)
    const identified = identify(h.app, pending!, bearer(USER))
    await untilBlocked('update analytics_sessions s') // the identify's UPDATE waits on the held row
    const erased = eraseMe(h.app, bearer(USER))
    await untilWaiting('ShareRowExclusiveLock') // the erasure waits for the identify's batch
    await release()
    expect((await identified).statusCode).toBe(200)
    const res = await erased
    expect(res.json()).toEqual({ success: true, data: { sessions: 2, pageviews: 3 } })
    expect(await rowsHolding(h, USER)).toEqual([])
  })

  it('writes queued while the erasure holds its lock land after its commit and find nothing to attach to', async () => {
    const USER = '7a8b9c0d-0000-4000-8000-00000000b002'
    const clientId = uuidV7(Date.now())
    const body = sessionBody({ id: clientId })
    const created = await postSession(h.app, body)
    const id = (created.json() as { data: { id: string } }).data.id
    expect(id).toBe(clientId)
    expect((await identify(h.app, id, bearer(USER))).statusCode).toBe(200)
    const release = await holdRow(id)
    const erased = eraseMe(h.app, bearer(USER))
    await untilBlocked('delete from analytics_sessions') // the erasure holds the table lock, waits on the row
    const view = postPageView(h.app, { sessionId: id, path: '/late' })
    const retried = postSession(h.app, body)
    await untilWaiting('RowExclusiveLock') // ingest queued behind the erasure
    await release()
    expect((await erased).json()).toEqual({ success: true, data: { sessions: 1, pageviews: 0 } })
    expectNullId(await view)
    expectNullId(await retried)
    expect(await rowsHolding(h, USER)).toEqual([])
    expect(await rowsHolding(h, id)).toEqual([])
  })
})
