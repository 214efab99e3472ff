import { sql } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import {
  AUTH,
  expectError,
  login,
  mailTo,
  me,
  query,
  refreshWithCookie,
  registerUser,
  sessionsOf,
  setUserFields,
  testClock,
  useAuthHarness,
  userById,
} from './helper.js'
import { memoryTransport, tokenOf } from './mail-capture.js'

/** POST /forgot-password and /reset-password (contract 3.8) over inject and a real PostgreSQL. */

const mail = memoryTransport()
const clock = testClock()
const NEW_PASSWORD = 'Brand-New-Pass9'

const h = useAuthHarness({ app: { now: clock.now, env: { LOGIN_LOCK_THRESHOLD: '3' }, mail } })

const forgot = (email: unknown) =>
  h.app.inject({ method: 'POST', url: `${AUTH}/forgot-password`, payload: { email } })
const reset = (token: unknown, newPassword: unknown = NEW_PASSWORD) =>
  h.app.inject({ method: 'POST', url: `${AUTH}/reset-password`, payload: { token, newPassword } })

async function resetToken(email: string): Promise<string> {
  expect((await forgot(email)).statusCode).toBe(200)
  return tokenOf((await mailTo(mail, email, /reset|zurück/i)).text, 'reset-password')
}

describe('POST /forgot-password', () => {
  it('answers the same 200 body for a real and an unknown address; only the real one gets a link', async () => {
    const user = await registerUser(h.app)
    const known = await forgot(user.email)
    const unknown = await forgot(`ghost${Date.now()}@example.com`)
    for (const res of [known, unknown]) {
      expect(res.statusCode).toBe(200)
      expect(res.json()).toEqual({
        success: true,
        data: { message: 'Password reset email sent (if account exists)' },
      })
    }
    await h.app.mailOutbox.idle()
    const sent = await mailTo(mail, user.email, /reset/i)
    expect(sent.text).toMatch(/http:\/\/localhost:3000\/reset-password\?token=[0-9a-f-]{36}/)
    expect(sent.html).toContain('/reset-password?token=')
  })

  it('mails an unverified account too (completing the reset proves the mailbox)', async () => {
    const user = await registerUser(h.app)
    expect((await userById(h, user.userId))!.emailVerified).toBe(false)
    const token = await resetToken(user.email)
    expect((await reset(token)).statusCode).toBe(200)
    expect((await userById(h, user.userId))!.emailVerified).toBe(true)
  })

  it('sends nothing to a suspended account', async () => {
    const user = await registerUser(h.app)
    await setUserFields(h, user.userId, { status: 'SUSPENDED' })
    await h.app.mailOutbox.idle()
    const before = mail.mails.length
    expect((await forgot(user.email)).statusCode).toBe(200)
    await h.app.mailOutbox.idle()
    expect(mail.mails.slice(before).filter((m) => m.to === user.email)).toEqual([])
  })

  it.each([
    ['no e-mail', {}],
    ['not an e-mail', { email: 'x@' }],
    ['a number', { email: 5 }],
    ['an extra field', { email: 'a@example.com', password: 'x' }],
  ])('bad input (%s) is a 400 VALIDATION_FAILED envelope', async (_n, payload) => {
    expectError(
      await h.app.inject({ method: 'POST', url: `${AUTH}/forgot-password`, payload }),
      400,
      'VALIDATION_FAILED',
    )
  })
})

describe('POST /reset-password', () => {
  it('sets the password, revokes every session, clears the lockout, consumes the token and mails a notice', async () => {
    const user = await registerUser(h.app)
    const second = await login(h.app, user.email, user.password)
    expect(second.statusCode).toBe(200)
    // Two wrong passwords (threshold 3): counted, not yet locked.
    for (let i = 0; i < 2; i++) expect((await login(h.app, user.email, 'Wrong-pass1')).statusCode).toBe(401)

    const token = await resetToken(user.email)
    const res = await reset(token)
    expect(res.statusCode, res.body).toBe(200)
    expect(res.json()).toEqual({ success: true })

    expect((await sessionsOf(h, user.userId)).every((s) => s.revokedAt !== null)).toBe(true)
    expectError(await refreshWithCookie(h.app, user.refreshToken), 401)
    // The two failures before the reset are forgotten: two more (the old password among them)
    // stay under the threshold of 3, and the new password signs in. Without the reset clearing
    // them, the third failure in a row would have locked this e-mail on this network.
    expectError(await login(h.app, user.email, user.password), 401, 'INVALID_CREDENTIALS')
    expectError(await login(h.app, user.email, 'Wrong-pass1'), 401, 'INVALID_CREDENTIALS')
    expect((await login(h.app, user.email, NEW_PASSWORD)).statusCode).toBe(200)
    const notice = await mailTo(mail, user.email, /password was changed/i)
    expect(notice.text).not.toContain('token=')
    expectError(
      await reset(token, 'Another-Pass7'),
      400,
      'RESET_PASSWORD_INVALID_TOKEN',
      'auth.reset_password.invalid_token',
    )
  })

  it('lifts an active lock', async () => {
    const user = await registerUser(h.app)
    for (let i = 0; i < 3; i++) await login(h.app, user.email, 'Wrong-pass1')
    expectError(await login(h.app, user.email, user.password), 401, 'ACCOUNT_LOCKED')
    expect((await reset(await resetToken(user.email))).statusCode).toBe(200)
    expect((await login(h.app, user.email, NEW_PASSWORD)).statusCode).toBe(200)
  })

  it('the newest link invalidates the older ones', async () => {
    const user = await registerUser(h.app)
    const first = await resetToken(user.email)
    mail.mails.length = 0
    const second = await resetToken(user.email)
    expect(second).not.toBe(first)
    expectError(await reset(first), 400, 'RESET_PASSWORD_INVALID_TOKEN')
    expect((await reset(second)).statusCode).toBe(200)
  })

  it('a token older than PASSWORD_RESET_TTL_S is invalid and changes nothing', async () => {
    const user = await registerUser(h.app)
    const token = await resetToken(user.email)
    const before = (await userById(h, user.userId))!.passwordHash
    clock.advance(3_600_000 + 1000)
    try {
      expectError(await reset(token), 400, 'RESET_PASSWORD_INVALID_TOKEN')
    } finally {
      clock.advance(-(3_600_000 + 1000))
    }
    expect((await userById(h, user.userId))!.passwordHash).toBe(before)
    expect((await me(h.app, user.accessToken)).statusCode).toBe(200)
  })

  it('an unknown token, and a verification token, are invalid reset tokens', async () => {
    expectError(await reset('0b6f8a47-1c51-4d0c-9d5e-0f1c2b3a4d5e'), 400, 'RESET_PASSWORD_INVALID_TOKEN')
    const user = await registerUser(h.app)
    const verifyToken = tokenOf((await mailTo(mail, user.email, /confirm/i)).text, 'verify-email')
    expectError(await reset(verifyToken), 400, 'RESET_PASSWORD_INVALID_TOKEN')
  })

  it('two concurrent resets with one token: one succeeds, the other is invalid', async () => {
    const user = await registerUser(h.app)
    const token = await resetToken(user.email)
    const results = await Promise.all([reset(token, 'First-Winner1'), reset(token, 'Second-Winner2')])
    expect(results.map((r) => r.statusCode).sort()).toEqual([200, 400])
    const [events] = await query<{ n: number }>(
      h,
      sql`select count(*)::int as n from auth_audit_events where event = 'auth.password_reset.completed' and user_id = ${user.userId}`,
    )
    expect(events!.n).toBe(1)
  })

  it.each([
    ['a weak password', { token: '0b6f8a47-1c51-4d0c-9d5e-0f1c2b3a4d5e', newPassword: 'alllowercase' }],
    ['a short password', { token: '0b6f8a47-1c51-4d0c-9d5e-0f1c2b3a4d5e', newPassword: 'Ab1' }],
    [
      'a 129-character password',
      { token: '0b6f8a47-1c51-4d0c-9d5e-0f1c2b3a4d5e', newPassword: `Aa1${'x'.repeat(126)}` },
    ],
    ['no token', { newPassword: NEW_PASSWORD }],
    ['a non-UUID token', { token: 'token', newPassword: NEW_PASSWORD }],
    [
      'an extra field',
      { token: '0b6f8a47-1c51-4d0c-9d5e-0f1c2b3a4d5e', newPassword: NEW_PASSWORD, email: 'a@b.co' },
    ],
  ])('bad input (%s) is a 400 VALIDATION_FAILED envelope', async (_n, payload) => {
    expectError(
      await h.app.inject({ method: 'POST', url: `${AUTH}/reset-password`, payload }),
      400,
      'VALIDATION_FAILED',
    )
  })
})
