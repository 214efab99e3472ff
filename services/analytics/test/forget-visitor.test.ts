import { rowsOf } from '@bio/service-kit'
import { sql } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { TOMBSTONE_TTL_MS } from '../src/lib/erasure-digest.js'
import { forget, rowsHolding, seedVisits } from './erasure-helper.js'
import {
  createSession,
  expectError,
  expectedVisitorHash,
  expectNullId,
  pageViewsOf,
  postSession,
  sessionBody,
  sessionRow,
  testClock,
  useAnalyticsHarness,
} from './helper.js'

const h = useAnalyticsHarness()

const USER = '3c4d5e6f-0000-4000-8000-0000000000c3'
const counts = (sessions: number, pageviews: number, detached: number) => ({
  success: true,
  data: { sessions, pageviews, detached },
})

describe('POST /api/v1/analytics/visitor/forget', () => {
  it("erases the visitor's anonymous sessions, detaches its signed-in one; no table holds its hash after", async () => {
    const visitorId = 'visitor-forget-1'
    const hash = expectedVisitorHash(visitorId)
    const anonymous = await seedVisits(h.app, { visitorId, sessions: 2, views: 2 })
    const [bound] = await seedVisits(h.app, { visitorId, userId: USER, views: 1 })
    const [neighbour] = await seedVisits(h.app, { visitorId: 'visitor-forget-2', views: 1 })
    expect((await rowsHolding(h, hash)).length).toBe(3)

    const res = await forget(h.app, { visitorId })
    expect(res.statusCode, res.body).toBe(200)
    expect(res.json()).toEqual(counts(2, 4, 1))
    expect(await rowsHolding(h, hash)).toEqual([])
    for (const id of anonymous) {
      expect(await sessionRow(h, id)).toBeUndefined()
      expect(await rowsHolding(h, id)).toEqual([])
    }
    // The signed-in session stays the user's (DELETE /me erases it), unlinked from the visitor.
    const kept = await sessionRow(h, bound!)
    expect(kept?.userId).toBe(USER)
    expect(kept?.visitorId).toBe(`forgotten:${bound}`)
    expect(await pageViewsOf(h, bound!)).toHaveLength(1)
    expect((await sessionRow(h, neighbour!))?.visitorId).toBe(expectedVisitorHash('visitor-forget-2'))

    // Withdrawal is complete: the same visitor id starts nothing for the tombstone's 24 h.
    expectNullId(await postSession(h.app, sessionBody({ visitorId })))
    expect(await rowsHolding(h, hash)).toEqual([])
    expect((await forget(h.app, { visitorId })).json()).toEqual(counts(0, 0, 0))
    await createSession(h.app, { visitorId: 'visitor-forget-3' })
  })

  it('tombstones expire after the client-id window: the next erasure prunes them, and the id tracks again', async () => {
    const clock = testClock(Date.parse('2026-11-01T10:00:00.000Z'))
    const app = await h.build({ now: clock.nowMs })
    const visitorId = 'visitor-forget-expiry'
    await seedVisits(app, { visitorId, views: 1 })
    const tombstones = async () =>
      rowsOf<{ n: number }>(
        await h.database.db.execute(sql`select count(*)::int as n from analytics_erasures`),
      )[0]!.n
    const before = await tombstones()
    expect((await forget(app, { visitorId })).json().data.sessions).toBe(1)
    expect(await tombstones()).toBe(before + 2) // the visitor and its session
    clock.advance(TOMBSTONE_TTL_MS - 1000)
    expectNullId(await postSession(app, sessionBody({ visitorId })))
    clock.advance(2000)
    // Any erasure prunes what has expired (this one adds its own visitor's tombstone).
    await forget(app, { visitorId: 'visitor-forget-other' })
    expect(await tombstones()).toBe(before + 1)
    await createSession(app, { visitorId })
  })

  it('an unknown visitor answers zeros', async () => {
    expect((await forget(h.app, { visitorId: 'never-seen' })).json()).toEqual(counts(0, 0, 0))
  })

  it('bad input is a 400/413/415 envelope and erases nothing', async () => {
    const visitorId = 'visitor-forget-bad'
    await seedVisits(h.app, { visitorId, views: 1 })
    const cases: [unknown, number, Record<string, string>?][] = [
      [{}, 400],
      [{ visitorId: '' }, 400],
      [{ visitorId: 'x'.repeat(129) }, 400],
      [{ visitorId: 'a\u0000b' }, 400],
      [{ visitorId: 'a\nb' }, 400],
      [{ visitorId: 42 }, 400],
      [{ visitorId: [visitorId] }, 400],
      [{ visitorId, extra: 1 }, 400],
      ['{"visitorId":', 400, { 'content-type': 'application/json' }],
      [JSON.stringify({ visitorId }), 415, { 'content-type': 'text/plain' }],
      [JSON.stringify({ visitorId }), 415, { 'content-type': 'application/x-www-form-urlencoded' }],
      [JSON.stringify({ visitorId, pad: 'x'.repeat(2000) }), 413, { 'content-type': 'application/json' }],
    ]
    for (const [body, status, headers] of cases) expectError(await forget(h.app, body, headers), status)
    expect((await rowsHolding(h, expectedVisitorHash(visitorId))).length).toBe(1)
  })
})
