import { describe, expect, it } from 'vitest'
import { ExportedPageView, ExportedSession } from '../src/schemas/analytics.js'
import { exportMe, seedVisits } from './erasure-helper.js'
import { bearer, expectError, useAnalyticsHarness } from './helper.js'

const h = useAnalyticsHarness()

const USER = '5e6f7081-0000-4000-8000-0000000000e5'
const OTHER = '5e6f7081-0000-4000-8000-0000000000f6'

interface Exported {
  success: true
  data: {
    userId: string
    exportedAt: string
    sessions: Record<string, unknown>[]
    pageviews: Record<string, unknown>[]
  }
}

describe('GET /api/v1/analytics/me/export', () => {
  it("streams the user's sessions and pageviews as one enveloped JSON attachment, nothing of others", async () => {
    const mine = await seedVisits(h.app, { userId: USER, visitorId: 'v-export-1', sessions: 2, views: 3 })
    await seedVisits(h.app, { userId: OTHER, visitorId: 'v-export-2', views: 2 })
    await seedVisits(h.app, { visitorId: 'v-export-1', views: 1 })

    const res = await exportMe(h.app, bearer(USER))
    expect(res.statusCode, res.body).toBe(200)
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8')
    expect(res.headers['content-disposition']).toBe('attachment; filename="analytics-export.json"')
    expect(res.headers['cache-control']).toBe('no-store')
    const body = res.json() as Exported
    expect(Object.keys(body)).toEqual(['success', 'data'])
    expect(body.data.userId).toBe(USER)
    expect(Number.isNaN(Date.parse(body.data.exportedAt))).toBe(false)
    expect(body.data.sessions.map((s) => s.id)).toEqual([...mine].sort())
    expect(body.data.pageviews).toHaveLength(6)
    // The documented shape (services/analytics/src/schemas/analytics.ts), field for field.
    for (const s of body.data.sessions)
      expect(Object.keys(s).sort()).toEqual(Object.keys(ExportedSession.properties).sort())
    for (const v of body.data.pageviews) {
      expect(Object.keys(v).sort()).toEqual(Object.keys(ExportedPageView.properties).sort())
      expect(mine).toContain(v.sessionId)
    }
    expect(body.data.pageviews.map((v) => v.path)).toEqual(
      expect.arrayContaining(['/page-0', '/page-1', '/page-2']),
    )
    expect(JSON.stringify(body)).not.toContain(OTHER)
  })

  it('a user with no data gets empty lists', async () => {
    const res = await exportMe(h.app, bearer('5e6f7081-0000-4000-8000-000000000000'))
    expect(res.statusCode).toBe(200)
    expect((res.json() as Exported).data).toMatchObject({ sessions: [], pageviews: [] })
  })

  it('401 in the envelope without a token or with a bad one', async () => {
    for (const authorization of [undefined, 'Bearer x.y.z', `${bearer(USER)}x`])
      expectError(await exportMe(h.app, authorization), 401)
  })
})
