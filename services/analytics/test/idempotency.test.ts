import { twoReadyInstances } from '@bio/service-kit/testing'
import { beforeAll, describe, expect, it } from 'vitest'
import { chooseRowId, isUuidV7, uuidV7, uuidV7Instant, uuidV7Time } from '../src/lib/uuid-v7.js'
import {
  type AnalyticsApp,
  createSession,
  pageViewRow,
  pageViewsOf,
  postPageView,
  postSession,
  recordPageView,
  rowCounts,
  sessionBody,
  sessionRow,
  testClock,
  useAnalyticsHarness,
} from './helper.js'

/**
 * Exactly-once effects under retries: the client chooses the id (a UUIDv7), the primary key
 * decides which copy is stored, and the counters, bounce flag and back-fill follow only the rows
 * really inserted. Holds within one batch, across batches and across two instances at once.
 */

let twins: [AnalyticsApp, AnalyticsApp]
const HOUR = 3_600_000

const h = useAnalyticsHarness()

beforeAll(async () => {
  twins = await twoReadyInstances(() => h.build())
})

const idOf = (res: Awaited<ReturnType<typeof postSession>>) =>
  (res.json() as { data: { id: string | null } }).data.id

describe('client-chosen ids', () => {
  it('a recent UUIDv7 is the row id, and its time is the session start and the view time', async () => {
    const sessionId = uuidV7(Date.now() - 5 * 60_000)
    expect(idOf(await postSession(h.app, sessionBody({ id: sessionId })))).toBe(sessionId)
    const viewId = uuidV7(Date.now() - 4 * 60_000)
    expect(idOf(await postPageView(h.app, { id: viewId, sessionId, path: '/late' }))).toBe(viewId)
    expect((await sessionRow(h, sessionId))!.startedAt.getTime()).toBe(uuidV7Time(sessionId))
    expect((await pageViewRow(h, viewId))!.enteredAt.getTime()).toBe(uuidV7Time(viewId))
  })

  it.each([
    ['a UUIDv4', () => '6f1d3c1e-8a2b-4c3d-9e4f-5a6b7c8d9e0f'],
    ['a UUIDv7 older than 24 h', () => uuidV7(Date.now() - 25 * HOUR)],
    ['a UUIDv7 two minutes ahead', () => uuidV7(Date.now() + 2 * 60_000)],
    ['not a UUID at all', () => 'hello'],
  ])('%s is replaced by a server-made UUIDv7 (not an error)', async (_name, make) => {
    const clientId = make()
    const before = Date.now()
    const sessionId = idOf(await postSession(h.app, sessionBody({ id: clientId })))
    expect(sessionId).not.toBe(clientId)
    expect(isUuidV7(sessionId!)).toBe(true)
    expect(uuidV7Time(sessionId!)).toBeGreaterThanOrEqual(before - 1)
    const viewId = idOf(await postPageView(h.app, { id: clientId, sessionId, path: '/' }))
    expect(viewId).not.toBe(clientId)
    expect(isUuidV7(viewId!)).toBe(true)
  })

  it('server-made ids are UUIDv7 carrying the time the server took', async () => {
    const clock = testClock(Date.parse('2026-03-04T05:06:07.089Z'))
    const clocked = await h.build({ now: clock.nowMs })
    const sessionId = await createSession(clocked)
    expect(isUuidV7(sessionId)).toBe(true)
    expect(uuidV7Time(sessionId)).toBe(Date.parse('2026-03-04T05:06:07.089Z'))
  })
})

describe('retries change nothing', () => {
  it('a session sent again answers the same id and stays one row; another visitor gets null', async () => {
    const body = sessionBody({ id: uuidV7(Date.now()) })
    const first = idOf(await postSession(h.app, body))
    expect(idOf(await postSession(h.app, body))).toBe(first)
    const before = await sessionRow(h, first!)
    // The same id with another visitor: no takeover, nothing changed.
    expect(idOf(await postSession(h.app, { ...body, visitorId: 'someone-else', utmSource: 'x' }))).toBeNull()
    expect(await sessionRow(h, first!)).toEqual(before)
  })

  it('20 concurrent copies of one pageview across two instances: one row, page_views counted once', async () => {
    const sessionId = await createSession(h.app)
    const viewId = uuidV7(Date.now())
    const view = { id: viewId, sessionId, path: '/storm' }
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => postPageView(twins[i % 2]!, view)))
    for (const a of answers) expect(a.json()).toEqual({ success: true, data: { id: viewId } })
    expect((await pageViewsOf(h, sessionId)).map((v) => v.id)).toEqual([viewId])
    expect(await sessionRow(h, sessionId)).toMatchObject({ pageViews: 1, bounced: true })
  })

  it('20 concurrent copies of one session across two instances: one row, every copy answered its id', async () => {
    const id = uuidV7(Date.now())
    const body = sessionBody({ id })
    const before = await rowCounts(h)
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => postSession(twins[i % 2]!, body)))
    for (const a of answers) expect(idOf(a)).toBe(id)
    expect((await rowCounts(h)).sessions).toBe(before.sessions + 1)
  })

  it('copies in one batch and in later batches: the back-fill and the bounce flag are applied once', async () => {
    const t0 = Date.now() - 60_000
    const sessionId = await createSession(h.app)
    const a = { id: uuidV7(t0), sessionId, path: '/a' }
    const b = { id: uuidV7(t0 + 12_000), sessionId, path: '/b' }
    // a twice in one batch, then b with a copy of a, then b again alone.
    await Promise.all([postPageView(h.app, a), postPageView(h.app, a)])
    await Promise.all([postPageView(h.app, b), postPageView(h.app, a)])
    expect(idOf(await postPageView(h.app, b))).toBe(b.id)
    const rows = await pageViewsOf(h, sessionId)
    expect(rows.map((r) => [r.id, r.duration])).toEqual([
      [a.id, 12],
      [b.id, null],
    ])
    expect(await sessionRow(h, sessionId)).toMatchObject({ pageViews: 2, bounced: false })
  })

  it("a pageview id that belongs to another session's view is a silent null; nothing changes", async () => {
    const mine = await createSession(h.app)
    const theirs = await createSession(h.app)
    const viewId = await recordPageView(h.app, theirs)
    const before = await pageViewRow(h, viewId)
    expect(idOf(await postPageView(h.app, { id: viewId, sessionId: mine, path: '/takeover' }))).toBeNull()
    expect(await pageViewRow(h, viewId)).toEqual(before)
    expect(await sessionRow(h, mine)).toMatchObject({ pageViews: 0 })
  })
})

describe('the key (id, entered_at) of the partitioned pageviews', () => {
  it("a row's time is a function of its id: the id's instant, whoever made the id", () => {
    const now = Date.parse('2026-07-01T08:00:00.000Z') + 0.123
    const server = chooseRowId(undefined, now)
    expect(server.at).toBe(now)
    expect(uuidV7Instant(server.id)).toBe(now)
    // The server's id sent back as a client id: the same instant, so the same key.
    expect(chooseRowId(server.id, now + 5_000)).toEqual(server)
    const client = uuidV7(now - 60_000)
    expect(chooseRowId(client, now)).toEqual(chooseRowId(client, now + HOUR))
    expect(Math.floor(chooseRowId(client, now).at)).toBe(uuidV7Time(client))
  })

  it('a server-made id sent again by its session answers the same id and stays one row', async () => {
    const sessionId = await createSession(h.app)
    const viewId = await recordPageView(h.app, sessionId, { path: '/first' })
    const before = await pageViewRow(h, viewId)
    expect(idOf(await postPageView(h.app, { id: viewId, sessionId, path: '/again' }))).toBe(viewId)
    expect(await pageViewsOf(h, sessionId)).toEqual([before])
    expect(await sessionRow(h, sessionId)).toMatchObject({ pageViews: 1 })
  })

  it('20 concurrent copies of a view whose id is a day old: one row, counted once', async () => {
    const sessionId = await createSession(h.app)
    const view = { id: uuidV7(Date.now() - 23 * HOUR), sessionId, path: '/late' }
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => postPageView(twins[i % 2]!, view)))
    for (const a of answers) expect(idOf(a)).toBe(view.id)
    expect((await pageViewsOf(h, sessionId)).map((v) => v.id)).toEqual([view.id])
    expect(await sessionRow(h, sessionId)).toMatchObject({ pageViews: 1 })
  })
})
