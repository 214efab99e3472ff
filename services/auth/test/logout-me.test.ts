import { randomUUID } from 'node:crypto'
import { SignJWT, UnsecuredJWT } from 'jose'
import { describe, expect, it } from 'vitest'
import { createAccessTokenSigner } from '../src/tokens/access-token-signer.js'
import {
  AUTH,
  deleteUser,
  expectError,
  login,
  me,
  REFRESH_COOKIE_NAME,
  rawRefreshCookie,
  refreshCookieOf,
  refreshWithCookie,
  registerUser,
  sessionsOf,
  setUserFields,
  TEST_SECRET,
  useAuthHarness,
} from './helper.js'

const ISSUER = 'bio-re-auth'
const AUDIENCE = 'bio-re-api'

const h = useAuthHarness()

const logout = (options: { cookie?: string; body?: unknown } = {}) =>
  h.app.inject({
    method: 'POST',
    url: `${AUTH}/logout`,
    ...(options.cookie !== undefined ? { cookies: { [REFRESH_COOKIE_NAME]: options.cookie } } : {}),
    ...(options.body !== undefined ? { payload: options.body as object } : {}),
  })

const expectLoggedOut = (res: Awaited<ReturnType<typeof logout>>) => {
  expect(res.statusCode, res.body).toBe(200)
  expect(res.json()).toEqual({ success: true, data: { message: 'Logged out successfully' } })
  const raw = rawRefreshCookie(res)!
  expect(raw).toBeDefined()
  expect(refreshCookieOf(res)!.value).toBe('')
  expect(raw).toMatch(/Max-Age=0(;|$)|Expires=Thu, 01 Jan 1970/)
  // Cleared with the attributes it was set with, or the browser keeps the original.
  expect(raw).toMatch(/Path=\/api\/v1\/auth(;|$)/)
  expect(raw).toMatch(/HttpOnly/)
  expect(raw).toMatch(/SameSite=Strict/)
}

describe('POST /logout', () => {
  it('revokes the session of the cookie token and clears the cookie; refresh afterwards fails', async () => {
    const user = await registerUser(h.app)
    const res = await logout({ cookie: user.refreshToken })
    expectLoggedOut(res)
    const [session] = await sessionsOf(h, user.userId)
    expect(session!.revokedAt).not.toBeNull()
    expectError(await refreshWithCookie(h.app, user.refreshToken), 401, 'INVALID_REFRESH_TOKEN')
  })

  it('revokes the session of a body token', async () => {
    const user = await registerUser(h.app)
    expectLoggedOut(await logout({ body: { refreshToken: user.refreshToken } }))
    expectError(await refreshWithCookie(h.app, user.refreshToken), 401, 'INVALID_REFRESH_TOKEN')
  })

  it('revokes only the presented session, not the other devices', async () => {
    const user = await registerUser(h.app)
    const other = refreshCookieOf(await login(h.app, user.email, user.password))!.value
    expectLoggedOut(await logout({ cookie: user.refreshToken }))
    const sessions = await sessionsOf(h, user.userId)
    expect(sessions.filter((s) => s.revokedAt !== null)).toHaveLength(1)
    expect((await refreshWithCookie(h.app, other)).statusCode).toBe(200)
  })

  it('is idempotent: no token, an empty body, an unknown token, or the same token twice give 200', async () => {
    expectLoggedOut(await logout())
    expectLoggedOut(await logout({ body: {} }))
    expectLoggedOut(await logout({ cookie: 'unknown-token' }))
    expectLoggedOut(await logout({ body: { refreshToken: 'unknown-token' } }))
    const user = await registerUser(h.app)
    expectLoggedOut(await logout({ cookie: user.refreshToken }))
    expectLoggedOut(await logout({ cookie: user.refreshToken }))
  })

  it('leaves the access token valid until it expires (documented)', async () => {
    const user = await registerUser(h.app)
    expectLoggedOut(await logout({ cookie: user.refreshToken }))
    const res = await me(h.app, user.accessToken)
    expect(res.statusCode).toBe(200)
    expect(res.json().data.id).toBe(user.userId)
  })

  it('needs no bearer token and sets no-store', async () => {
    const res = await logout()
    expect(res.statusCode).toBe(200)
    expect(res.headers['cache-control']).toBe('no-store')
  })
})

describe('GET /me', () => {
  it('answers the profile with exactly the contract fields', async () => {
    const username = `prof${Date.now()}`.slice(0, 30)
    const user = await registerUser(h.app, { username, displayName: 'Profile Person' })
    const res = await me(h.app, user.accessToken)
    expect(res.statusCode, res.body).toBe(200)
    expect(res.headers['cache-control']).toBe('no-store')
    expect(res.json()).toEqual({
      success: true,
      data: {
        id: user.userId,
        email: user.email,
        username,
        displayName: 'Profile Person',
        avatarUrl: null,
        status: 'ACTIVE',
        emailVerified: false,
      },
    })
  })

  it('reports nulls for an account without username or display name, and the current status', async () => {
    const user = await registerUser(h.app)
    await setUserFields(h, user.userId, {
      status: 'SUSPENDED',
      emailVerified: true,
      avatarUrl: 'https://x/a.png',
    })
    const { data } = (await me(h.app, user.accessToken)).json()
    expect(data).toMatchObject({
      username: null,
      displayName: null,
      avatarUrl: 'https://x/a.png',
      status: 'SUSPENDED',
      emailVerified: true,
    })
  })

  it('accepts the scheme in any case', async () => {
    const user = await registerUser(h.app)
    const res = await h.app.inject({
      method: 'GET',
      url: `${AUTH}/me`,
      headers: { authorization: `bearer ${user.accessToken}` },
    })
    expect(res.statusCode).toBe(200)
  })

  it('401 AUTH_UNAUTHORIZED without a token, with www-authenticate', async () => {
    const res = await h.app.inject({ method: 'GET', url: `${AUTH}/me` })
    expectError(res, 401, 'AUTH_UNAUTHORIZED', 'auth.token.missing')
    expect(res.headers['www-authenticate']).toMatch(/^Bearer/)
  })

  it.each([
    ['a garbage token', 'Bearer not.a.jwt'],
    ['a non-JWT word', 'Bearer garbage'],
    ['another scheme', 'Basic dXNlcjpwYXNz'],
    ['an empty bearer', 'Bearer '],
    ['a token with spaces', 'Bearer abc def'],
    ['an over-long token', `Bearer ${'a'.repeat(3000)}`],
  ])('401 for %s', async (_name, authorization) => {
    const res = await h.app.inject({ method: 'GET', url: `${AUTH}/me`, headers: { authorization } })
    expectError(res, 401, 'AUTH_UNAUTHORIZED')
    expect(res.headers['www-authenticate']).toMatch(/^Bearer/)
  })

  it('401 auth.token.expired for an expired token signed with the right key', async () => {
    const user = await registerUser(h.app)
    const sign = createAccessTokenSigner(
      {
        algorithm: 'HS256',
        secret: TEST_SECRET,
        privateKey: undefined,
        issuer: ISSUER,
        audience: AUDIENCE,
        accessTtlSeconds: 900,
      },
      () => Date.now() - 3_600_000,
    )
    const { accessToken } = sign({ userId: user.userId, sessionId: randomUUID() })
    expectError(await me(h.app, accessToken), 401, 'AUTH_UNAUTHORIZED', 'auth.token.expired')
  })

  it('401 for a token signed with another key', async () => {
    const user = await registerUser(h.app)
    const token = await new SignJWT({ sid: randomUUID() })
      .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' })
      .setSubject(user.userId)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(new TextEncoder().encode('another-secret-that-is-at-least-32-bytes!!'))
    expectError(await me(h.app, token), 401, 'AUTH_UNAUTHORIZED', 'auth.token.invalid')
  })

  it('401 for an unsigned alg:none token', async () => {
    const user = await registerUser(h.app)
    const token = new UnsecuredJWT({ sid: randomUUID() })
      .setSubject(user.userId)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime('10m')
      .encode()
    expectError(await me(h.app, token), 401, 'AUTH_UNAUTHORIZED', 'auth.token.invalid')
  })

  it('401 for a valid token of a user deleted from the database', async () => {
    const user = await registerUser(h.app)
    expect((await me(h.app, user.accessToken)).statusCode).toBe(200)
    await deleteUser(h, user.userId)
    expectError(await me(h.app, user.accessToken), 401, 'AUTH_UNAUTHORIZED')
  })

  it('a jose-signed HS256 token with the right key and claims is accepted (interoperability)', async () => {
    const user = await registerUser(h.app)
    const token = await new SignJWT({ sid: randomUUID() })
      .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' })
      .setSubject(user.userId)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(new TextEncoder().encode(TEST_SECRET))
    expect((await me(h.app, token)).statusCode).toBe(200)
  })
})
