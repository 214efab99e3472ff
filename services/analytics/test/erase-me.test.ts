import { describe, expect, it } from 'vitest'
import { uuidV7 } from '../src/lib/uuid-v7.js'
import { eraseMe, rowsHolding, seedVisits } from './erasure-helper.js'
import {
  bearer,
  expectError,
  expectNullId,
  expectOk,
  heartbeat,
  identify,
  pageViewsOf,
  postPageView,
  postSession,
  sessionBody,
  sessionRow,
  useAnalyticsHarness,
} from './helper.js'

const h = useAnalyticsHarness()

const USER = '2b3c4d5e-0000-4000-8000-0000000000a1'
const OTHER = '2b3c4d5e-0000-4000-8000-0000000000b2'

describe('DELETE /api/v1/analytics/me', () => {
  it("erases the user's sessions and pageviews, and only theirs; no table holds the user id after", async () => {
    const mine = await seedVisits(h.app, { userId: USER, visitorId: 'v-erase-1', sessions: 2, views: 3 })
    const [theirs] = await seedVisits(h.app, { userId: OTHER, visitorId: 'v-erase-2' })
    const [anonymous] = await seedVisits(h.app, { visitorId: 'v-erase-1' })
    expect((await rowsHolding(h, USER)).length).toBe(2)

    const res = await eraseMe(h.app, bearer(USER))
    expect(res.statusCode, res.body).toBe(200)
    expect(res.json()).toEqual({ success: true, data: { sessions: 2, pageviews: 6 } })
    expect(await rowsHolding(h, USER)).toEqual([])
    for (const id of mine) {
      expect(await sessionRow(h, id)).toBeUndefined()
      expect(await pageViewsOf(h, id)).toEqual([])
      expect(await rowsHolding(h, id)).toEqual([])
    }
    expect((await sessionRow(h, theirs!))?.userId).toBe(OTHER)
    expect(await pageViewsOf(h, anonymous!)).toHaveLength(2)

    // Idempotent: nothing left to erase.
    expect((await eraseMe(h.app, bearer(USER))).json()).toEqual({
      success: true,
      data: { sessions: 0, pageviews: 0 },
    })
  })

  it('a tab still open cannot bring the erased session back (retried create, pageview, beat, identify)', async () => {
    // A client-chosen id of now, so it is taken as the row id (and could be sent again).
    const clientId = uuidV7(Date.now())
    const body = sessionBody({ id: clientId })
    const created = await postSession(h.app, body)
    const id = (created.json() as { data: { id: string } }).data.id
    expect(id).toBe(clientId)
    expectOk(await identify(h.app, id, bearer(USER)))
    expect((await eraseMe(h.app, bearer(USER))).json().data.sessions).toBe(1)

    expectNullId(await postSession(h.app, body))
    expectNullId(await postPageView(h.app, { sessionId: id, path: '/after' }))
    expectOk(await heartbeat(h.app, id))
    expectOk(await identify(h.app, id, bearer(USER)))
    expect(await sessionRow(h, id)).toBeUndefined()
    expect(await rowsHolding(h, USER)).toEqual([])
    expect(await rowsHolding(h, id)).toEqual([])
  })

  it('401 in the envelope without a token, with a malformed one and with a bad signature; nothing erased', async () => {
    const [kept] = await seedVisits(h.app, { userId: OTHER, visitorId: 'v-erase-3', views: 1 })
    const forged = `${bearer(OTHER).slice(0, -4)}AAAA`
    for (const authorization of [undefined, 'Bearer not-a-jwt', 'Basic dXNlcjpwYXNz', forged]) {
      const res = await eraseMe(h.app, authorization)
      expectError(res, 401)
      expect(res.headers['www-authenticate']).toMatch(/^Bearer/)
    }
    expect((await sessionRow(h, kept!))?.userId).toBe(OTHER)
  })

  it('a body that is oversized (413), not JSON (415) or malformed (400): the envelope, nothing erased', async () => {
    const [kept] = await seedVisits(h.app, { userId: OTHER, visitorId: 'v-erase-4', views: 0 })
    const cases: [string, string, number][] = [
      ['application/json', JSON.stringify({ pad: 'x'.repeat(4096) }), 413],
      ['text/plain', 'erase me', 415],
      ['application/json', '{"a":', 400],
    ]
    for (const [type, payload, status] of cases) {
      const res = await h.app.inject({
        method: 'DELETE',
        url: '/api/v1/analytics/me',
        headers: { authorization: bearer(OTHER), 'content-type': type },
        payload,
      })
      expectError(res, status)
    }
    expect((await sessionRow(h, kept!))?.userId).toBe(OTHER)
  })
})
