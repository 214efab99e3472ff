import { describe, expect, it } from 'vitest'
import { argon2Hasher } from '../src/domain/password-hasher.js'
import {
  AUTH,
  expectError,
  login,
  me,
  rawRefreshCookie,
  refreshCookieOf,
  refreshWithCookie,
  registerUser,
  sessionsOf,
  setUserFields,
  useAuthHarness,
  userById,
} from './helper.js'

const h = useAuthHarness()

const withoutCorrelation = (body: { error: Record<string, unknown> }) => {
  const { correlationId: _c, ...rest } = body.error
  return { ...body, error: rest }
}

describe('POST /login: success', () => {
  it('answers 200 { accessToken, expiresIn: 900 } with a fresh refresh cookie', async () => {
    const user = await registerUser(h.app)
    const res = await login(h.app, user.email, user.password)
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
    const token = refreshCookieOf(res)!.value
    expect(token).not.toBe(user.refreshToken)
    // A second session exists, and both the new access and refresh tokens work.
    expect(await sessionsOf(h, user.userId)).toHaveLength(2)
    expect((await me(h.app, body.data.accessToken)).json().data.id).toBe(user.userId)
    expect((await refreshWithCookie(h.app, token)).statusCode).toBe(200)
  })

  it('records lastLoginAt from the injected clock', async () => {
    const at = new Date('2026-06-01T12:00:00.000Z')
    const clocked = await h.build({ now: () => at })
    const user = await registerUser(h.app)
    expect((await userById(h, user.userId))!.lastLoginAt).toBeNull()
    expectError(await login(clocked, user.email, 'Wrong-Password1'), 401, 'INVALID_CREDENTIALS')
    expect((await login(clocked, user.email, user.password)).statusCode).toBe(200)
    const row = (await userById(h, user.userId))!
    expect(row.lastLoginAt?.toISOString()).toBe(at.toISOString())
  })

  it('matches the e-mail case-insensitively and ignores surrounding spaces', async () => {
    const user = await registerUser(h.app)
    const res = await login(h.app, `  ${user.email.toUpperCase()} `, user.password)
    expect(res.statusCode, res.body).toBe(200)
  })

  it('accepts captchaToken and the deprecated turnstileToken', async () => {
    const user = await registerUser(h.app)
    const res = await h.app.inject({
      method: 'POST',
      url: `${AUTH}/login`,
      payload: { email: user.email, password: user.password, captchaToken: 'c', turnstileToken: 't' },
    })
    expect(res.statusCode, res.body).toBe(200)
  })

  it('records the User-Agent and the masked client IP on the session', async () => {
    const user = await registerUser(h.app)
    const res = await h.app.inject({
      method: 'POST',
      url: `${AUTH}/login`,
      payload: { email: user.email, password: user.password },
      headers: { 'user-agent': 'LoginAgent/2.0' },
      remoteAddress: '203.0.113.77',
    })
    expect(res.statusCode).toBe(200)
    const sessions = await sessionsOf(h, user.userId)
    const created = sessions.find((s) => s.userAgent === 'LoginAgent/2.0')
    expect(created?.ipMasked).toBe('203.0.113.***')
  })
  it('re-hashes a password made with other argon2 parameters on the next login', async () => {
    const user = await registerUser(h.app)
    const before = (await userById(h, user.userId))!.passwordHash!
    expect(before).toContain('m=1024,t=1,p=1')
    const stronger = await h.build({
      hasher: argon2Hasher({ memoryCost: 2048, timeCost: 2, parallelism: 1 }),
    })
    expect((await login(stronger, user.email, user.password)).statusCode).toBe(200)
    const after = (await userById(h, user.userId))!.passwordHash!
    expect(after).toContain('m=2048,t=2,p=1')
    // The new hash still verifies the same password, and a wrong one still fails.
    expect((await login(stronger, user.email, user.password)).statusCode).toBe(200)
    expectError(await login(stronger, user.email, 'Wrong-Password1'), 401, 'INVALID_CREDENTIALS')
    expect((await userById(h, user.userId))!.passwordHash).toBe(after)
  })
})

describe('POST /login: failures', () => {
  it('gives identical 401 bodies for an unknown e-mail and a wrong password', async () => {
    const user = await registerUser(h.app)
    const unknown = await login(h.app, `nobody${Date.now()}@example.com`, user.password)
    const wrong = await login(h.app, user.email, 'Not-The-Password1')
    const a = expectError(unknown, 401, 'INVALID_CREDENTIALS', 'auth.login.invalid_credentials')
    const b = expectError(wrong, 401, 'INVALID_CREDENTIALS', 'auth.login.invalid_credentials')
    expect(a.correlationId).not.toBe(b.correlationId)
    expect(withoutCorrelation(unknown.json())).toEqual(withoutCorrelation(wrong.json()))
    expect(refreshCookieOf(unknown)).toBeUndefined()
    expect(refreshCookieOf(wrong)).toBeUndefined()
    expect(unknown.headers['www-authenticate']).toBe(wrong.headers['www-authenticate'])
  })

  it('gives INVALID_CREDENTIALS for an account without a password (e.g. OAuth-only)', async () => {
    const user = await registerUser(h.app)
    await setUserFields(h, user.userId, { passwordHash: null })
    expectError(await login(h.app, user.email, user.password), 401, 'INVALID_CREDENTIALS')
  })

  it('does not create a session on failure', async () => {
    const user = await registerUser(h.app)
    await login(h.app, user.email, 'Wrong-Password1')
    expect(await sessionsOf(h, user.userId)).toHaveLength(1)
  })
})

describe('POST /login: account status', () => {
  it.each([
    ['SUSPENDED', 'ACCOUNT_SUSPENDED', 'auth.login.account_suspended'],
    ['DEACTIVATED', 'ACCOUNT_DEACTIVATED', 'auth.login.account_deactivated'],
  ] as const)(
    '%s: its own 401 with the right password, INVALID_CREDENTIALS with a wrong one',
    async (status, code, key) => {
      const user = await registerUser(h.app)
      await setUserFields(h, user.userId, { status })
      const right = await login(h.app, user.email, user.password)
      expectError(right, 401, code, key)
      expect(refreshCookieOf(right)).toBeUndefined()
      const wrong = await login(h.app, user.email, 'Wrong-Password1')
      expectError(wrong, 401, 'INVALID_CREDENTIALS', 'auth.login.invalid_credentials')
      expect(await sessionsOf(h, user.userId)).toHaveLength(1)
      expect((await userById(h, user.userId))!.lastLoginAt).toBeNull()
    },
  )

  it.each(['BANNED', 'DELETED'] as const)(
    '%s: INVALID_CREDENTIALS even with the right password',
    async (status) => {
      const user = await registerUser(h.app)
      await setUserFields(h, user.userId, { status })
      expectError(await login(h.app, user.email, user.password), 401, 'INVALID_CREDENTIALS')
      expect(await sessionsOf(h, user.userId)).toHaveLength(1)
    },
  )
})
