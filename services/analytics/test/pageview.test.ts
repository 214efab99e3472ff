import { createTrackingToken } from '@bio/contracts'
import { rowsOf } from '@bio/service-kit'
import { sql } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import {
  A,
  createSession,
  expectError,
  expectNullId,
  pageViewRow,
  pageViewsOf,
  postPageView,
  recordPageView,
  rowCounts,
  sessionRow,
  TRACKING_SECRET,
  testClock,
  UNKNOWN_ID,
  UUID_RE,
  useAnalyticsHarness,
} from './helper.js'

const h = useAnalyticsHarness()

const BIO_PAGE = '5d1c2b3a-4e5f-4a6b-8c7d-9e0f1a2b3c4d'
const LINK = 'c0ffee00-1234-4abc-8def-0123456789ab'
const T0 = Date.parse('2026-05-01T10:00:00.000Z')

describe('POST /pageview', () => {
  it('answers { id } and stores the view with its fields', async () => {
    const sessionId = await createSession(h.app)
    const res = await postPageView(h.app, {
      sessionId,
      path: '/links?x=1',
      title: 'My links',
      referrer: 'https://example.com/',
      linkClicked: LINK,
    })
    expect(res.statusCode, res.body).toBe(200)
    const json = res.json()
    expect(Object.keys(json).sort()).toEqual(['data', 'success'])
    expect(Object.keys(json.data)).toEqual(['id'])
    expect(json.data.id).toMatch(UUID_RE)
    expect(await pageViewRow(h, json.data.id)).toMatchObject({
      sessionId,
      bioPageId: null,
      path: '/links?x=1',
      title: 'My links',
      referrer: 'https://example.com/',
      linkClicked: LINK,
      duration: null,
      scrollDepth: null,
      leftAt: null,
    })
  })

  it('stores enteredAt from the injected clock and moves the session lastActivityAt to it', async () => {
    const clock = testClock(T0)
    const clocked = await h.build({ now: clock.nowMs })
    const sessionId = await createSession(clocked)
    clock.advance(5_000)
    const id = await recordPageView(clocked, sessionId)
    expect((await pageViewRow(h, id))!.enteredAt.toISOString()).toBe('2026-05-01T10:00:05.000Z')
    expect((await sessionRow(h, sessionId))!.lastActivityAt.toISOString()).toBe('2026-05-01T10:00:05.000Z')
  })

  it('answers { id: null } for an unknown session and writes nothing', async () => {
    const before = await rowCounts(h)
    expectNullId(await postPageView(h.app, { sessionId: UNKNOWN_ID, path: '/' }))
    expect(await rowCounts(h)).toEqual(before)
  })

  it('takes bio_page_id from the session, never from the body', async () => {
    const plain = await createSession(h.app)
    const v1 = await recordPageView(h.app, plain, { bioPageId: BIO_PAGE })
    expect((await pageViewRow(h, v1))!.bioPageId).toBeNull()

    const clocked = await h.build({ now: () => T0 })
    const trackingToken = createTrackingToken(TRACKING_SECRET, BIO_PAGE, T0)
    const attributed = await createSession(clocked, { bioPageId: BIO_PAGE, trackingToken })
    const v2 = await recordPageView(clocked, attributed)
    const v3 = await recordPageView(clocked, attributed, {
      bioPageId: 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee',
    })
    expect((await pageViewRow(h, v2))!.bioPageId).toBe(BIO_PAGE)
    expect((await pageViewRow(h, v3))!.bioPageId).toBe(BIO_PAGE)
  })
})

describe('POST /pageview: session counters', () => {
  it('a new session has 0 views and is bounced; 1 view → bounced; 2 views → not bounced', async () => {
    const sessionId = await createSession(h.app)
    expect(await sessionRow(h, sessionId)).toMatchObject({ pageViews: 0, bounced: true })
    await recordPageView(h.app, sessionId)
    expect(await sessionRow(h, sessionId)).toMatchObject({ pageViews: 1, bounced: true })
    await recordPageView(h.app, sessionId)
    expect(await sessionRow(h, sessionId)).toMatchObject({ pageViews: 2, bounced: false })
    await recordPageView(h.app, sessionId)
    expect(await sessionRow(h, sessionId)).toMatchObject({ pageViews: 3, bounced: false })
  })

  it('an unknown-session view does not touch other sessions', async () => {
    const sessionId = await createSession(h.app)
    await recordPageView(h.app, sessionId)
    expectNullId(await postPageView(h.app, { sessionId: UNKNOWN_ID, path: '/' }))
    expect(await sessionRow(h, sessionId)).toMatchObject({ pageViews: 1, bounced: true })
  })

  it('50 concurrent views on one session: page_views exactly 50, not bounced, back-fill in arrival order', async () => {
    // Every reading of the clock is one second after the previous one, so the arrival order is
    // the order of entered_at and every back-filled duration is exactly 1 s.
    let t = T0
    const clocked = await h.build({ now: () => (t += 1_000) })
    const sessionId = await createSession(clocked)
    const responses = await Promise.all(
      Array.from({ length: 50 }, (_, i) => postPageView(clocked, { sessionId, path: `/p/${i}` })),
    )
    const ids = responses.map((r) => {
      expect(r.statusCode, r.body).toBe(200)
      return r.json().data.id as string
    })
    expect(new Set(ids).size).toBe(50)
    for (const id of ids) expect(id).toMatch(UUID_RE)
    expect(await sessionRow(h, sessionId)).toMatchObject({ pageViews: 50, bounced: false })

    const views = await pageViewsOf(h, sessionId)
    expect(views.map((v) => v.id).sort()).toEqual([...ids].sort())
    for (const [i, v] of views.entries()) {
      if (i < views.length - 1) {
        expect(views[i + 1]!.enteredAt.getTime() - v.enteredAt.getTime()).toBe(1_000)
        expect(v.duration, `view ${i}`).toBe(1)
      } else {
        expect(v.duration).toBeNull()
      }
    }
  })

  it('50 concurrent views with the real clock: every duration is the gap to the next view', async () => {
    const sessionId = await createSession(h.app)
    const responses = await Promise.all(
      Array.from({ length: 50 }, (_, i) => postPageView(h.app, { sessionId, path: `/r/${i}` })),
    )
    for (const r of responses) expect(r.json().data.id).toMatch(UUID_RE)
    expect(await sessionRow(h, sessionId)).toMatchObject({ pageViews: 50, bounced: false })
    // Microsecond precision, read back from timestamptz as whole milliseconds: compare within 1 ms.
    const views = await pageViewsOf(h, sessionId)
    expect(views).toHaveLength(50)
    for (const [i, v] of views.entries()) {
      if (i === views.length - 1) expect(v.duration).toBeNull()
      else {
        expect(v.duration).not.toBeNull()
        expect(v.duration!).toBeGreaterThanOrEqual(0)
        expect(
          Math.abs(v.duration! * 1000 - (views[i + 1]!.enteredAt.getTime() - v.enteredAt.getTime())),
        ).toBeLessThanOrEqual(1)
      }
    }
  })

  it('concurrent views on several sessions each count only their own', async () => {
    const [s1, s2, s3] = [await createSession(h.app), await createSession(h.app), await createSession(h.app)]
    const plan = [s1, s2, s1, s3, s1, s2]
    const responses = await Promise.all(
      plan.map((sessionId) => postPageView(h.app, { sessionId, path: '/' })),
    )
    for (const r of responses) expect(r.json().data.id).toMatch(UUID_RE)
    expect(await sessionRow(h, s1!)).toMatchObject({ pageViews: 3, bounced: false })
    expect(await sessionRow(h, s2!)).toMatchObject({ pageViews: 2, bounced: false })
    expect(await sessionRow(h, s3!)).toMatchObject({ pageViews: 1, bounced: true })
  })

  it('in one batch, an unknown-session view gets null and its neighbours their ids', async () => {
    const sessionId = await createSession(h.app)
    const before = await rowCounts(h)
    const [a, b, c] = await Promise.all([
      postPageView(h.app, { sessionId, path: '/a' }),
      postPageView(h.app, { sessionId: UNKNOWN_ID, path: '/b' }),
      postPageView(h.app, { sessionId, path: '/c' }),
    ])
    expect(a!.json().data.id).toMatch(UUID_RE)
    expectNullId(b!)
    expect(c!.json().data.id).toMatch(UUID_RE)
    expect((await rowCounts(h)).pageviews).toBe(before.pageviews + 2)
    expect(await sessionRow(h, sessionId)).toMatchObject({ pageViews: 2, bounced: false })
  })

  it('a lone UTF-16 surrogate (PostgreSQL cannot store it) → 400 naming the field; its neighbours are written', async () => {
    const sessionId = await createSession(h.app)
    const raw = (path: string) =>
      h.app.inject({
        method: 'POST',
        url: `${A}/pageview`,
        payload: `{"sessionId":"${sessionId}","path":"${path}"}`,
        headers: { 'content-type': 'application/json' },
      })
    const responses = await Promise.all([raw('/ok-1'), raw('/bad\\ud800'), raw('/ok-2')])
    expect(responses[0]!.json().data.id).toMatch(UUID_RE)
    const error = expectError(responses[1]!, 400, 'VALIDATION_FAILED')
    expect(error.details).toEqual([{ field: 'path', message: expect.any(String), rule: 'unstorable' }])
    expect(responses[2]!.json().data.id).toMatch(UUID_RE)
    const views = await pageViewsOf(h, sessionId)
    expect(views.map((v) => v.path).sort()).toEqual(['/ok-1', '/ok-2'])
    expect(await sessionRow(h, sessionId)).toMatchObject({ pageViews: 2, bounced: false })
  })

  it('a NUL character in a text field → 400 naming the field, nothing written', async () => {
    const sessionId = await createSession(h.app)
    const before = await rowCounts(h)
    const error = expectError(
      await postPageView(h.app, { sessionId, path: '/bad\u0000path' }),
      400,
      'VALIDATION_FAILED',
    )
    expect(error.details).toContainEqual(expect.objectContaining({ field: 'path' }))
    expect(await rowCounts(h)).toEqual(before)
    expect((await sessionRow(h, sessionId))!.pageViews).toBe(0)
  })
})

describe('POST /pageview: duration back-fill', () => {
  async function twoViews(gapMs: number) {
    const clock = testClock(T0)
    const clocked = await h.build({ now: clock.nowMs })
    const sessionId = await createSession(clocked)
    clock.advance(1_000)
    const first = await recordPageView(clocked, sessionId, { path: '/first' })
    clock.advance(gapMs)
    const second = await recordPageView(clocked, sessionId, { path: '/second' })
    return { first: (await pageViewRow(h, first))!, second: (await pageViewRow(h, second))! }
  }

  it.each([
    [42_500, 42.5],
    [1_000, 1],
    [3_600_000, 3600],
  ])('a gap of %i ms back-fills the previous view with %d s', async (gap, seconds) => {
    const { first, second } = await twoViews(gap)
    expect(first.duration).toBe(seconds)
    expect(second.duration).toBeNull()
  })

  it('a gap of 3601 s leaves the previous duration null (skipped, not clamped)', async () => {
    const { first, second } = await twoViews(3_601_000)
    expect(first.duration).toBeNull()
    expect(second.duration).toBeNull()
  })

  it('each view is back-filled by its own successor', async () => {
    const clock = testClock(T0)
    const clocked = await h.build({ now: clock.nowMs })
    const sessionId = await createSession(clocked)
    const ids: string[] = []
    for (const gap of [1_000, 10_000, 20_000, 5_000_000, 30_000]) {
      clock.advance(gap)
      ids.push(await recordPageView(clocked, sessionId))
    }
    const durations = await Promise.all(ids.map(async (id) => (await pageViewRow(h, id))!.duration))
    expect(durations).toEqual([10, 20, null, 30, null])
    expect(await sessionRow(h, sessionId)).toMatchObject({ pageViews: 5, bounced: false })
  })

  it('keeps arrival order even when the clock stands still (microsecond ticks, no ties)', async () => {
    // The service nudges a reading that did not advance by one microsecond, the precision
    // PostgreSQL stores, so views recorded in one instant still order by arrival.
    const clocked = await h.build({ now: () => T0 })
    const sessionId = await createSession(clocked)
    const ids: string[] = []
    for (let i = 0; i < 60; i++) ids.push(await recordPageView(clocked, sessionId, { path: `/same/${i}` }))
    const stored = rowsOf<{ id: string; entered_at: string; duration: number | null }>(
      await h.database.db.execute(sql`
        select id, to_char(entered_at at time zone 'UTC', 'HH24:MI:SS.US') as entered_at, duration
        from analytics_pageviews where session_id = ${sessionId} order by entered_at, id`),
    )
    expect(stored.map((r) => r.id)).toEqual(ids)
    expect(new Set(stored.map((r) => r.entered_at)).size).toBe(60)
    expect(stored.map((r) => r.duration)).toEqual([...Array(59).fill(0.000001), null])
  })

  it('never crosses sessions', async () => {
    const clock = testClock(T0)
    const clocked = await h.build({ now: clock.nowMs })
    const s1 = await createSession(clocked)
    clock.advance(1_000)
    const s2 = await createSession(clocked)
    clock.advance(1_000)
    const a = await recordPageView(clocked, s1)
    clock.advance(7_000)
    const b = await recordPageView(clocked, s2)
    clock.advance(7_000)
    const c = await recordPageView(clocked, s1)
    expect((await pageViewRow(h, a))!.duration).toBe(14)
    expect((await pageViewRow(h, b))!.duration).toBeNull()
    expect((await pageViewRow(h, c))!.duration).toBeNull()
  })
})
