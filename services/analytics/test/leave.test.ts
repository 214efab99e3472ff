import { describe, expect, it } from 'vitest'
import {
  A,
  type AnalyticsApp,
  createSession,
  expectError,
  expectOk,
  heartbeat,
  leave,
  pageViewRow,
  recordPageView,
  sessionRow,
  testClock,
  UNKNOWN_ID,
  useAnalyticsHarness,
} from './helper.js'

/** The app's clock: a leave can claim no more than the time since its view was entered (plus 60 s of skew). */
const clock = testClock(Date.now() - 2 * 3_600_000)

const h = useAnalyticsHarness({ app: { now: clock.nowMs } })

const BEACON = 'text/plain;charset=UTF-8'

/** A session with one pageview an hour old: the last view a leave ping is for. */
async function oneView() {
  const sessionId = await createSession(h.app)
  const viewId = await recordPageView(h.app, sessionId)
  clock.advance(3_600_000)
  return { sessionId, viewId }
}

/** A beacon: POST, text/plain, the JSON as a string (what navigator.sendBeacon(url, string) sends). */
const beacon = (id: string, raw: string, target: AnalyticsApp = h.app) =>
  target.inject({
    method: 'POST',
    url: `${A}/pageview/${id}/leave`,
    payload: raw,
    headers: { 'content-type': BEACON },
  })

describe('PATCH /pageview/:id/leave', () => {
  it('stores duration, scrollDepth and left_at, and adds round(duration) to the session', async () => {
    const { sessionId, viewId } = await oneView()
    expectOk(await leave(h.app, viewId, { duration: 12.6, scrollDepth: 55.5 }))
    const view = await pageViewRow(h, viewId)
    expect(view).toMatchObject({ duration: 12.6, scrollDepth: 55.5 })
    // The service's clock, not the machine's: left_at is when the service received the ping.
    expect(view!.leftAt!.getTime()).toBe(clock.nowMs())
    expect((await sessionRow(h, sessionId))!.duration).toBe(13)
  })

  it('scrollDepth is optional', async () => {
    const { sessionId, viewId } = await oneView()
    expectOk(await leave(h.app, viewId, { duration: 7 }))
    expect(await pageViewRow(h, viewId)).toMatchObject({ duration: 7, scrollDepth: null })
    expect((await sessionRow(h, sessionId))!.duration).toBe(7)
  })

  it.each([
    [0, 0],
    [3600, 100],
    [0.4, 0.5],
  ])('accepts the bounds: duration %d, scrollDepth %d', async (duration, scrollDepth) => {
    const { sessionId, viewId } = await oneView()
    expectOk(await leave(h.app, viewId, { duration, scrollDepth }))
    expect(await pageViewRow(h, viewId)).toMatchObject({ duration, scrollDepth })
    expect((await sessionRow(h, sessionId))!.duration).toBe(Math.round(duration))
  })

  it('a repeated leave for the same view replaces it: the session counts only the latest', async () => {
    const { sessionId, viewId } = await oneView()
    expectOk(await leave(h.app, viewId, { duration: 10, scrollDepth: 20 }))
    expectOk(await leave(h.app, viewId, { duration: 10, scrollDepth: 20 }))
    expect((await sessionRow(h, sessionId))!.duration).toBe(10)
    expectOk(await leave(h.app, viewId, { duration: 25, scrollDepth: 80 }))
    expect(await pageViewRow(h, viewId)).toMatchObject({ duration: 25, scrollDepth: 80 })
    expect((await sessionRow(h, sessionId))!.duration).toBe(25)
    // A later, shorter ping replaces too.
    expectOk(await leave(h.app, viewId, { duration: 4 }))
    expect((await pageViewRow(h, viewId))!.duration).toBe(4)
    expect((await sessionRow(h, sessionId))!.duration).toBe(4)
  })

  it('replacing fractional durations keeps the session at round(latest duration)', async () => {
    const { sessionId, viewId } = await oneView()
    expectOk(await leave(h.app, viewId, { duration: 12.6 }))
    expect((await sessionRow(h, sessionId))!.duration).toBe(13)
    expectOk(await leave(h.app, viewId, { duration: 30.2 }))
    expect((await sessionRow(h, sessionId))!.duration).toBe(30)
    expectOk(await leave(h.app, viewId, { duration: 30.4 }))
    expect((await sessionRow(h, sessionId))!.duration).toBe(30)
  })

  it('a later ping without scrollDepth keeps the depth recorded earlier', async () => {
    const { viewId } = await oneView()
    expectOk(await leave(h.app, viewId, { duration: 5, scrollDepth: 64 }))
    expectOk(await leave(h.app, viewId, { duration: 9 }))
    expect(await pageViewRow(h, viewId)).toMatchObject({ duration: 9, scrollDepth: 64 })
  })

  it('two pings for the same view in one batch count once (the last one wins)', async () => {
    const { sessionId, viewId } = await oneView()
    const results = await Promise.all([
      leave(h.app, viewId, { duration: 40, scrollDepth: 10 }),
      leave(h.app, viewId, { duration: 50, scrollDepth: 90 }),
    ])
    for (const r of results) expectOk(r)
    expect(await pageViewRow(h, viewId)).toMatchObject({ duration: 50, scrollDepth: 90 })
    expect((await sessionRow(h, sessionId))!.duration).toBe(50)
  })

  it('adds to heartbeat time and to the leaves of other views of the session', async () => {
    const sessionId = await createSession(h.app)
    const v1 = await recordPageView(h.app, sessionId)
    const v2 = await recordPageView(h.app, sessionId)
    clock.advance(30_000)
    expectOk(await heartbeat(h.app, sessionId))
    expectOk(await leave(h.app, v1, { duration: 5 }))
    expectOk(await leave(h.app, v2, { duration: 20.5 }))
    expect((await sessionRow(h, sessionId))!.duration).toBe(30 + 5 + 21)
  })

  it('a leave claims no more than the time since its view (plus 60 s of clock skew)', async () => {
    const sessionId = await createSession(h.app)
    const viewId = await recordPageView(h.app, sessionId)
    clock.advance(40)
    expectOk(await leave(h.app, viewId, { duration: 3600, scrollDepth: 50 }))
    expect((await pageViewRow(h, viewId))!.duration).toBeCloseTo(60.04, 4)
    expect((await sessionRow(h, sessionId))!.duration).toBe(60)
    // The same ping retried later replaces, within the new bound, and never adds.
    clock.advance(100_000)
    expectOk(await leave(h.app, viewId, { duration: 3600, scrollDepth: 50 }))
    expect((await pageViewRow(h, viewId))!.duration).toBeCloseTo(160.04, 4)
    expect((await sessionRow(h, sessionId))!.duration).toBe(160)
  })

  it.each([
    ['an unknown id', UNKNOWN_ID],
    ['a malformed id', 'not-a-uuid'],
    ['a numeric id', '12345'],
    ['an SQL-looking id', "1';drop table analytics_pageviews;--"],
  ])('answers { ok: true } for %s and changes nothing', async (_name, id) => {
    const { sessionId, viewId } = await oneView()
    expectOk(await leave(h.app, encodeURIComponent(id), { duration: 9, scrollDepth: 9 }))
    expect(await pageViewRow(h, viewId)).toMatchObject({ duration: null, scrollDepth: null, leftAt: null })
    expect((await sessionRow(h, sessionId))!.duration).toBe(0)
  })
})

describe('PATCH /pageview/:id/leave: validation', () => {
  it.each([
    ['duration 3601', { duration: 3601 }, 'duration', 'maximum'],
    ['duration -1', { duration: -1 }, 'duration', 'minimum'],
    ['scrollDepth 101', { duration: 1, scrollDepth: 101 }, 'scrollDepth', 'maximum'],
    ['scrollDepth -0.5', { duration: 1, scrollDepth: -0.5 }, 'scrollDepth', 'minimum'],
    ['duration as a string', { duration: '10' }, 'duration', 'type'],
    ['scrollDepth as a string', { duration: 1, scrollDepth: '50' }, 'scrollDepth', 'type'],
    ['duration null', { duration: null }, 'duration', 'type'],
    ['duration missing', { scrollDepth: 10 }, 'duration', 'required'],
    ['an extra field', { duration: 1, sessionId: UNKNOWN_ID }, 'sessionId', 'additionalProperties'],
  ])('%s → 400 VALIDATION_FAILED naming the field; nothing written', async (_name, body, field, rule) => {
    const { sessionId, viewId } = await oneView()
    for (const method of ['PATCH', 'POST'] as const) {
      const error = expectError(await leave(h.app, viewId, body, method), 400, 'VALIDATION_FAILED')
      expect(error.details).toContainEqual(expect.objectContaining({ field, rule }))
    }
    expect(await pageViewRow(h, viewId)).toMatchObject({ duration: null, scrollDepth: null, leftAt: null })
    expect((await sessionRow(h, sessionId))!.duration).toBe(0)
  })

  it('reports every problem at once', async () => {
    const { viewId } = await oneView()
    const error = expectError(
      await leave(h.app, viewId, { duration: 9999, scrollDepth: 500 }),
      400,
      'VALIDATION_FAILED',
    )
    const fields = error.details!.map((d) => d.field)
    expect(fields).toContain('duration')
    expect(fields).toContain('scrollDepth')
  })

  it('validates the body even for an unknown id', async () => {
    expectError(await leave(h.app, UNKNOWN_ID, { duration: -5 }), 400, 'VALIDATION_FAILED')
  })
})

describe('POST /pageview/:id/leave: the sendBeacon variant', () => {
  it('accepts text/plain;charset=UTF-8 with a JSON string body', async () => {
    const { sessionId, viewId } = await oneView()
    expectOk(await beacon(viewId, JSON.stringify({ duration: 33.3, scrollDepth: 70 })))
    expect(await pageViewRow(h, viewId)).toMatchObject({ duration: 33.3, scrollDepth: 70 })
    expect((await sessionRow(h, sessionId))!.duration).toBe(33)
  })

  it('accepts application/json as well, and PATCH text/plain', async () => {
    const { sessionId, viewId } = await oneView()
    expectOk(await leave(h.app, viewId, { duration: 3 }, 'POST'))
    expect((await pageViewRow(h, viewId))!.duration).toBe(3)
    expectOk(
      await h.app.inject({
        method: 'PATCH',
        url: `${A}/pageview/${viewId}/leave`,
        payload: JSON.stringify({ duration: 6 }),
        headers: { 'content-type': 'text/plain' },
      }),
    )
    expect((await pageViewRow(h, viewId))!.duration).toBe(6)
    expect((await sessionRow(h, sessionId))!.duration).toBe(6)
  })

  it('a beacon and a PATCH for the same view replace each other', async () => {
    const { sessionId, viewId } = await oneView()
    expectOk(await leave(h.app, viewId, { duration: 15 }))
    expectOk(await beacon(viewId, JSON.stringify({ duration: 18 })))
    expect((await sessionRow(h, sessionId))!.duration).toBe(18)
  })

  it.each([
    ['truncated JSON', '{"duration": 3'],
    ['not JSON at all', 'duration=3'],
    ['an empty body', ''],
  ])('%s in text/plain → 400 envelope, nothing written', async (_name, raw) => {
    const { viewId } = await oneView()
    const error = expectError(await beacon(viewId, raw), 400)
    expect(['MALFORMED_BODY', 'VALIDATION_FAILED']).toContain(error.code)
    expect((await pageViewRow(h, viewId))!.leftAt).toBeNull()
  })

  it('validates a text/plain body like a JSON one', async () => {
    const { viewId } = await oneView()
    const error = expectError(
      await beacon(viewId, JSON.stringify({ duration: 3601 })),
      400,
      'VALIDATION_FAILED',
    )
    expect(error.details).toContainEqual(expect.objectContaining({ field: 'duration' }))
  })

  it.each([
    ['a JSON string', '"hello"'],
    ['a JSON array', '[1,2]'],
    ['JSON null', 'null'],
    ['a JSON number', '12'],
  ])('%s as the beacon body → 400 VALIDATION_FAILED', async (_name, raw) => {
    const { viewId } = await oneView()
    expectError(await beacon(viewId, raw), 400, 'VALIDATION_FAILED')
  })

  it('a body over 1 KiB → 413 envelope, for text/plain and JSON, PATCH and POST', async () => {
    const { viewId } = await oneView()
    const big = JSON.stringify({ duration: 1, pad: 'x'.repeat(1100) })
    expectError(await beacon(viewId, big), 413, 'PAYLOAD_TOO_LARGE')
    for (const method of ['PATCH', 'POST'] as const) {
      const res = await h.app.inject({
        method,
        url: `${A}/pageview/${viewId}/leave`,
        payload: big,
        headers: { 'content-type': 'application/json' },
      })
      expectError(res, 413, 'PAYLOAD_TOO_LARGE')
    }
    expect((await pageViewRow(h, viewId))!.leftAt).toBeNull()
  })

  it.each([
    ['text/plain', BEACON],
    ['application/json', 'application/json'],
  ])('{"__proto__": {...}} as %s → 400, never 500', async (_name, contentType) => {
    const { viewId } = await oneView()
    for (const raw of [
      '{"duration": 1, "__proto__": {"polluted": true}}',
      '{"__proto__": {"duration": 1}}',
      '{"duration": 1, "constructor": {"prototype": {"polluted": true}}}',
    ]) {
      for (const method of ['PATCH', 'POST'] as const) {
        const res = await h.app.inject({
          method,
          url: `${A}/pageview/${viewId}/leave`,
          payload: raw,
          headers: { 'content-type': contentType },
        })
        expectError(res, 400)
      }
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect((await pageViewRow(h, viewId))!.leftAt).toBeNull()
  })
})

describe('leave and back-fill on the same view', () => {
  it('a leave that arrives after the next view back-filled the duration still counts in full', async () => {
    const clock = testClock(Date.parse('2026-05-01T10:00:00.000Z'))
    const clocked = await h.build({ now: clock.nowMs })
    const sessionId = await createSession(clocked)
    clock.advance(1_000)
    const first = await recordPageView(clocked, sessionId)
    clock.advance(100_000)
    await recordPageView(clocked, sessionId)
    expect((await pageViewRow(h, first))!.duration).toBe(100)
    expectOk(await leave(clocked, first, { duration: 99 }))
    expect((await pageViewRow(h, first))!.duration).toBe(99)
    expect((await sessionRow(h, sessionId))!.duration).toBe(99)
  })

  // Known bug (not fixed: needs a schema change). A repeated leave subtracts what the view's
  // duration holds, assuming an earlier leave put it there; a back-fill in between overwrote it.
  // visibilitychange (leave 10 s) → pageview B (back-fills A = 100 s) → pagehide (leave A 100 s):
  // the session should hold 100 s of A, but holds 10 s. Fix: remember the seconds a leave credited
  // to the session in a column of its own (e.g. analytics_pageviews.leave_credit) and subtract that.
  it('a repeated leave after a back-fill replaces the earlier leave', async () => {
    const clock = testClock(Date.parse('2026-05-01T11:00:00.000Z'))
    const clocked = await h.build({ now: clock.nowMs })
    const sessionId = await createSession(clocked)
    clock.advance(1_000)
    const first = await recordPageView(clocked, sessionId)
    expectOk(await leave(clocked, first, { duration: 10 }))
    expect((await sessionRow(h, sessionId))!.duration).toBe(10)
    clock.advance(100_000)
    await recordPageView(clocked, sessionId)
    expectOk(await leave(clocked, first, { duration: 100 }))
    expect((await sessionRow(h, sessionId))!.duration).toBe(100)
  })
})
