import { createHash } from 'node:crypto'
import { beforeAll, describe, expect, it } from 'vitest'
import {
  AUTH,
  deleteUser,
  expectError,
  login,
  me,
  REFRESH_COOKIE_NAME,
  rawRefreshCookie,
  refreshCookieOf,
  refreshWithBody,
  refreshWithCookie,
  registerUser,
  sessionsOf,
  setUserFields,
  testClock,
  useAuthHarness,
} from './helper.js'

const DAY = 86_400_000
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex')
const claimsOf = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString())

const h = useAuthHarness({ app: { env: { REFRESH_REUSE_GRACE_S: '0' } } })

beforeAll(async () => {
  // No grace: a second use of a rotated token is reuse at once (the grace has its own tests below).
})

describe('POST /refresh: rotation', () => {
  it('via the cookie: 200 { accessToken, expiresIn } and a new, different refresh cookie', async () => {
    const user = await registerUser(h.app)
    const res = await refreshWithCookie(h.app, user.refreshToken)
    expect(res.statusCode, res.body).toBe(200)
    const body = res.json()
    expect(body.success).toBe(true)
    expect(Object.keys(body.data).sort()).toEqual(['accessToken', 'expiresIn'])
    expect(body.data.expiresIn).toBe(900)
    const raw = rawRefreshCookie(res)!
    expect(raw).toMatch(/HttpOnly/)
    expect(raw).toMatch(/SameSite=Strict/)
    expect(raw).toMatch(/Path=\/api\/v1\/auth/)
    expect(raw).toMatch(/Max-Age=2592000/)
    const next = refreshCookieOf(res)!.value
    expect(next).not.toBe(user.refreshToken)
    expect(res.body).not.toContain(next)
    expect((await me(h.app, body.data.accessToken)).json().data.id).toBe(user.userId)
  })

  it('via body.refreshToken when there is no cookie', async () => {
    const user = await registerUser(h.app)
    const res = await refreshWithBody(h.app, user.refreshToken)
    expect(res.statusCode, res.body).toBe(200)
    expect(refreshCookieOf(res)!.value).not.toBe(user.refreshToken)
  })

  it('links the old session to the new one, and the new access token names the new session', async () => {
    const user = await registerUser(h.app)
    const res = await refreshWithCookie(h.app, user.refreshToken)
    const next = refreshCookieOf(res)!.value
    const sessions = await sessionsOf(h, user.userId)
    expect(sessions).toHaveLength(2)
    const old = sessions.find((s) => s.tokenHash === sha256(user.refreshToken))!
    const fresh = sessions.find((s) => s.tokenHash === sha256(next))!
    expect(old.rotatedAt).not.toBeNull()
    expect(old.replacedBy).toBe(fresh.id)
    expect(fresh.rotatedAt).toBeNull()
    expect(fresh.revokedAt).toBeNull()
    expect(claimsOf(res.json().data.accessToken).sid).toBe(fresh.id)
  })

  it('the cookie wins over the body', async () => {
    const a = await registerUser(h.app)
    const b = await registerUser(h.app)
    const res = await h.app.inject({
      method: 'POST',
      url: `${AUTH}/refresh`,
      cookies: { [REFRESH_COOKIE_NAME]: a.refreshToken },
      payload: { refreshToken: b.refreshToken },
    })
    expect(res.statusCode, res.body).toBe(200)
    expect(claimsOf(res.json().data.accessToken).sub).toBe(a.userId)
    // b's token was not touched.
    expect((await refreshWithBody(h.app, b.refreshToken)).statusCode).toBe(200)
  })

  it('a chain of rotations keeps working; only the newest token is live', async () => {
    const user = await registerUser(h.app)
    let token = user.refreshToken
    for (let i = 0; i < 4; i++) {
      const res = await refreshWithCookie(h.app, token)
      expect(res.statusCode, res.body).toBe(200)
      token = refreshCookieOf(res)!.value
    }
    const live = (await sessionsOf(h, user.userId)).filter((s) => !s.rotatedAt && !s.revokedAt)
    expect(live).toHaveLength(1)
    expect(live[0]!.tokenHash).toBe(sha256(token))
  })
})

describe('POST /refresh: reuse detection', () => {
  it('a rotated token is reuse: 401 REFRESH_TOKEN_REUSED and every session of the user is revoked', async () => {
    const user = await registerUser(h.app)
    const second = refreshCookieOf(await login(h.app, user.email, user.password))!.value
    const rotated = await refreshWithCookie(h.app, user.refreshToken)
    const newest = refreshCookieOf(rotated)!.value
    const bystander = await registerUser(h.app)

    const reuse = await refreshWithCookie(h.app, user.refreshToken)
    expectError(reuse, 401, 'REFRESH_TOKEN_REUSED', 'auth.refresh.token_reuse_detected')
    expect(refreshCookieOf(reuse)).toBeUndefined()

    const sessions = await sessionsOf(h, user.userId)
    expect(sessions).toHaveLength(3)
    for (const s of sessions) expect(s.revokedAt, s.id).not.toBeNull()
    // The newest token and the other device's token stop working too.
    expectError(
      await refreshWithCookie(h.app, newest),
      401,
      'INVALID_REFRESH_TOKEN',
      'auth.refresh.invalid_token',
    )
    expectError(await refreshWithBody(h.app, second), 401, 'INVALID_REFRESH_TOKEN')
    // Another user is not affected.
    expect((await refreshWithCookie(h.app, bystander.refreshToken)).statusCode).toBe(200)
  })

  it('reuse is detected through the body path too', async () => {
    const user = await registerUser(h.app)
    expect((await refreshWithBody(h.app, user.refreshToken)).statusCode).toBe(200)
    expectError(await refreshWithBody(h.app, user.refreshToken), 401, 'REFRESH_TOKEN_REUSED')
  })

  it('two concurrent refreshes with one token, no grace: exactly one 200, the other is reuse', async () => {
    const user = await registerUser(h.app)
    const results = await Promise.all([
      refreshWithCookie(h.app, user.refreshToken),
      refreshWithCookie(h.app, user.refreshToken),
    ])
    expect(results.map((r) => r.statusCode).sort()).toEqual([200, 401])
    expectError(results.find((r) => r.statusCode === 401)!, 401, 'REFRESH_TOKEN_REUSED')
    // The loser's transaction rolled back: one original session plus one rotated-to session only.
    expect(await sessionsOf(h, user.userId)).toHaveLength(2)
  })

  it('five concurrent refreshes with one token: exactly one 200', async () => {
    const user = await registerUser(h.app)
    const results = await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        i % 2 === 0 ? refreshWithCookie(h.app, user.refreshToken) : refreshWithBody(h.app, user.refreshToken),
      ),
    )
    expect(results.filter((r) => r.statusCode === 200)).toHaveLength(1)
    for (const r of results.filter((r) => r.statusCode !== 200)) expectError(r, 401)
    expect(await sessionsOf(h, user.userId)).toHaveLength(2)
  })
})

describe('POST /refresh: the reuse grace (REFRESH_REUSE_GRACE_S, default 10 s)', () => {
  it('two tabs refreshing at once: one 200, the other a plain 401, and nobody is signed out', async () => {
    const graceful = await h.build()
    const user = await registerUser(graceful)
    const results = await Promise.all([
      refreshWithCookie(graceful, user.refreshToken),
      refreshWithCookie(graceful, user.refreshToken),
    ])
    expect(results.map((r) => r.statusCode).sort()).toEqual([200, 401])
    expectError(results.find((r) => r.statusCode === 401)!, 401, 'INVALID_REFRESH_TOKEN')
    const winner = refreshCookieOf(results.find((r) => r.statusCode === 200)!)!.value
    expect((await sessionsOf(h, user.userId)).filter((s) => s.revokedAt)).toHaveLength(0)
    expect((await refreshWithCookie(graceful, winner)).statusCode).toBe(200)
  })

  it('a rotated token is a plain 401 inside the grace and reuse (all revoked) after it', async () => {
    const clock = testClock()
    const graceful = await h.build({ now: clock.now })
    const user = await registerUser(graceful)
    const rotated = await refreshWithCookie(graceful, user.refreshToken)
    const newest = refreshCookieOf(rotated)!.value
    clock.advance(9_000)
    expectError(await refreshWithCookie(graceful, user.refreshToken), 401, 'INVALID_REFRESH_TOKEN')
    expect((await sessionsOf(h, user.userId)).filter((s) => s.revokedAt)).toHaveLength(0)
    clock.advance(2_000)
    expectError(await refreshWithCookie(graceful, user.refreshToken), 401, 'REFRESH_TOKEN_REUSED')
    expectError(await refreshWithCookie(graceful, newest), 401, 'INVALID_REFRESH_TOKEN')
  })
})

describe('POST /refresh: invalid tokens', () => {
  it('an unknown token gives 401 INVALID_REFRESH_TOKEN', async () => {
    const error = expectError(
      await refreshWithCookie(h.app, 'A'.repeat(43)),
      401,
      'INVALID_REFRESH_TOKEN',
      'auth.refresh.invalid_token',
    )
    expect(error.message).toBeTruthy()
    expectError(await refreshWithBody(h.app, 'not-a-token'), 401, 'INVALID_REFRESH_TOKEN')
  })

  it('no token at all (no cookie, no body, empty body, empty cookie) gives 401', async () => {
    expectError(await h.app.inject({ method: 'POST', url: `${AUTH}/refresh` }), 401, 'INVALID_REFRESH_TOKEN')
    expectError(
      await h.app.inject({ method: 'POST', url: `${AUTH}/refresh`, payload: {} }),
      401,
      'INVALID_REFRESH_TOKEN',
    )
    expectError(
      await h.app.inject({
        method: 'POST',
        url: `${AUTH}/refresh`,
        headers: { cookie: `${REFRESH_COOKIE_NAME}=` },
      }),
      401,
      'INVALID_REFRESH_TOKEN',
    )
  })

  it('an expired token (clock moved past 30 days) gives 401 INVALID_REFRESH_TOKEN', async () => {
    const clock = testClock(new Date('2026-01-10T00:00:00.000Z'))
    const clocked = await h.build({ now: clock.now })
    const user = await registerUser(clocked)
    clock.advance(30 * DAY + 1000)
    expectError(await refreshWithCookie(clocked, user.refreshToken), 401, 'INVALID_REFRESH_TOKEN')
    // Not reuse: the session was never rotated, and the user's other sessions are untouched.
    const [session] = await sessionsOf(h, user.userId)
    expect(session!.rotatedAt).toBeNull()
    expect(session!.revokedAt).toBeNull()
  })

  it('a token just inside its 30 days still works', async () => {
    const clock = testClock(new Date('2026-02-10T00:00:00.000Z'))
    const clocked = await h.build({ now: clock.now })
    const user = await registerUser(clocked)
    clock.advance(30 * DAY - 1000)
    expect((await refreshWithCookie(clocked, user.refreshToken)).statusCode).toBe(200)
  })

  it('REFRESH_TOKEN_TTL_S sets the refresh lifetime and the cookie Max-Age', async () => {
    const clock = testClock(new Date('2026-03-10T00:00:00.000Z'))
    const short = await h.build({ env: { REFRESH_TOKEN_TTL_S: '3600' }, now: clock.now })
    const user = await registerUser(short)
    expect(rawRefreshCookie(user.res)).toMatch(/Max-Age=3600(;|$)/)
    clock.advance(3_600_000)
    expectError(await refreshWithCookie(short, user.refreshToken), 401, 'INVALID_REFRESH_TOKEN')
  })

  it('a revoked (logged-out) token gives 401 INVALID_REFRESH_TOKEN', async () => {
    const user = await registerUser(h.app)
    const other = refreshCookieOf(await login(h.app, user.email, user.password))!.value
    await h.app.inject({
      method: 'POST',
      url: `${AUTH}/logout`,
      payload: { refreshToken: user.refreshToken },
    })
    expectError(await refreshWithCookie(h.app, user.refreshToken), 401, 'INVALID_REFRESH_TOKEN')
    // Not reuse: the user's other session still works.
    expect((await refreshWithCookie(h.app, other)).statusCode).toBe(200)
  })

  it('a token of a deleted user gives 401 INVALID_REFRESH_TOKEN', async () => {
    const user = await registerUser(h.app)
    await deleteUser(h, user.userId)
    expect(await sessionsOf(h, user.userId)).toHaveLength(0)
    expectError(await refreshWithCookie(h.app, user.refreshToken), 401, 'INVALID_REFRESH_TOKEN')
  })
})

describe('POST /refresh: account status', () => {
  it.each(['SUSPENDED', 'DEACTIVATED', 'BANNED', 'DELETED'] as const)(
    'a %s user gets 401 REFRESH_ACCOUNT_SUSPENDED and the token is not consumed',
    async (status) => {
      const user = await registerUser(h.app)
      await setUserFields(h, user.userId, { status })
      const res = await refreshWithCookie(h.app, user.refreshToken)
      expectError(res, 401, 'REFRESH_ACCOUNT_SUSPENDED', 'auth.refresh.account_suspended')
      expect(refreshCookieOf(res)).toBeUndefined()
      const [session] = await sessionsOf(h, user.userId)
      expect(session!.rotatedAt).toBeNull()
      // Once the account is active again, the same token still works.
      await setUserFields(h, user.userId, { status: 'ACTIVE' })
      expect((await refreshWithCookie(h.app, user.refreshToken)).statusCode).toBe(200)
    },
  )
})
