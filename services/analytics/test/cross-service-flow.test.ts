import { rowsOf } from '@bio/service-kit'
import { sql } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { registerUser, useAuthHarness } from '../../auth/test/helper.js'
import {
  createSession,
  expectError,
  expectOk,
  identify,
  recordPageView,
  sessionRow,
  useAnalyticsHarness,
} from './helper.js'

/**
 * Both real services over their own databases, sharing only the JWT key: a visitor browses
 * anonymously (analytics), registers (auth), and the access token from registration attributes
 * the anonymous session to the new user (analytics verifies it locally).
 */

const h = useAnalyticsHarness()

const authH = useAuthHarness()

const register = () => registerUser(authH.app)

describe('anonymous browsing → register on auth → identify on analytics', () => {
  it('attributes the session and all its pageviews to the registered user', async () => {
    // 1. Anonymous: a session and several pageviews, no token anywhere.
    const sessionId = await createSession(h.app)
    const viewIds = [
      await recordPageView(h.app, sessionId, { path: '/' }),
      await recordPageView(h.app, sessionId, { path: '/pricing' }),
      await recordPageView(h.app, sessionId, { path: '/signup' }),
    ]
    expect((await sessionRow(h, sessionId))!.userId).toBeNull()

    // 2. Register on the auth service.
    const { userId, accessToken } = await register()
    const [user] = rowsOf<{ id: string }>(
      await authH.database.db.execute(sql`select id from users where id = ${userId}`),
    )
    expect(user?.id).toBe(userId)

    // 3. Identify with the access token from registration.
    expectOk(await identify(h.app, sessionId, `Bearer ${accessToken}`))

    // 4. The session belongs to the user, and every pageview is attributable through it.
    expect(await sessionRow(h, sessionId)).toMatchObject({ userId, pageViews: 3, bounced: false })
    const attributed = rowsOf<{ id: string; path: string; user_id: string }>(
      await h.database.db.execute(sql`
        select p.id, p.path, s.user_id from analytics_pageviews p
        join analytics_sessions s on s.id = p.session_id
        where s.user_id = ${userId} order by p.entered_at`),
    )
    expect(attributed.map((r) => r.id)).toEqual(viewIds)
    expect(attributed.map((r) => r.path)).toEqual(['/', '/pricing', '/signup'])
    expect(new Set(attributed.map((r) => r.user_id))).toEqual(new Set([userId]))
  })

  it('two registered users identify the same session: the last one wins', async () => {
    const first = await register()
    const second = await register()
    const sessionId = await createSession(h.app)
    expectOk(await identify(h.app, sessionId, `Bearer ${first.accessToken}`))
    expect((await sessionRow(h, sessionId))!.userId).toBe(first.userId)
    expectOk(await identify(h.app, sessionId, `Bearer ${second.accessToken}`))
    expect((await sessionRow(h, sessionId))!.userId).toBe(second.userId)
  })

  it('the auth service and analytics agree on who the token names (GET /me)', async () => {
    const { userId, accessToken } = await register()
    const me = await authH.app.inject({
      method: 'GET',
      url: '/api/v1/auth/me',
      headers: { authorization: `Bearer ${accessToken}` },
    })
    expect(me.statusCode, me.body).toBe(200)
    expect(me.json().data.id).toBe(userId)
    const sessionId = await createSession(h.app)
    expectOk(await identify(h.app, sessionId, `Bearer ${accessToken}`))
    expect((await sessionRow(h, sessionId))!.userId).toBe(userId)
  })

  it('a token from an auth service with another key is refused by analytics', async () => {
    const other = await authH.build({ env: { JWT_SECRET: 'a-completely-different-key-of-32-bytes-or-more' } })
    try {
      const res = await other.inject({
        method: 'POST',
        url: '/api/v1/auth/register',
        payload: {
          email: `other.${Date.now()}@example.com`,
          password: 'Correct-Horse1',
          acceptedTerms: true,
          acceptedPrivacy: true,
        },
      })
      expect(res.statusCode, res.body).toBe(201)
      const sessionId = await createSession(h.app)
      expectError(
        await identify(h.app, sessionId, `Bearer ${res.json().data.accessToken}`),
        401,
        'AUTH_UNAUTHORIZED',
      )
      expect((await sessionRow(h, sessionId))!.userId).toBeNull()
    } finally {
      await other.close()
    }
  })
})
