import { sql } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { hashAccountToken } from '../src/domain/account-token.js'
import {
  AUTH,
  expectError,
  mailTo,
  me,
  query,
  registerUser,
  setUserFields,
  testClock,
  useAuthHarness,
} from './helper.js'
import { memoryTransport, tokenOf } from './mail-capture.js'

/** POST /verify-email and /resend-verification (contract 3.7) over inject and a real PostgreSQL. */

const mail = memoryTransport()
const clock = testClock()

const h = useAuthHarness({ app: { now: clock.now, mail } })

const verify = (token: unknown) =>
  h.app.inject({ method: 'POST', url: `${AUTH}/verify-email`, payload: { token } })
const resend = (email: unknown) =>
  h.app.inject({ method: 'POST', url: `${AUTH}/resend-verification`, payload: { email } })

async function registeredWithToken(overrides: Record<string, unknown> = {}) {
  const user = await registerUser(h.app, overrides)
  const sent = await mailTo(mail, user.email, /confirm|bestätige/i)
  return { user, sent, token: tokenOf(sent.text, 'verify-email') }
}

describe('register queues a verification mail', () => {
  it('mails a UUID v4 link to APP_URL/verify-email, stored only as its SHA-256', async () => {
    const { user, sent, token } = await registeredWithToken()
    expect(token).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    expect(sent.text).toContain(`http://localhost:3000/verify-email?token=${token}`)
    expect(sent.html).toContain(`http://localhost:3000/verify-email?token=${token}`)
    const rows = await query<{ token_hash: string; expires_at: Date; created_at: Date }>(
      h,
      sql`select token_hash, expires_at, created_at from account_tokens where user_id = ${user.userId}`,
    )
    expect(rows).toHaveLength(1)
    expect(rows[0]!.token_hash).toBe(hashAccountToken(token))
    expect(new Date(rows[0]!.expires_at).getTime() - new Date(rows[0]!.created_at).getTime()).toBe(86_400_000)
  })

  it('renders the user’s locale (de) and falls back to en for a locale without templates', async () => {
    const de = await registeredWithToken({ locale: 'de' })
    expect(de.sent.locale).toBe('de')
    expect(de.sent.subject).toBe('Bestätige deine E-Mail-Adresse')
    const fr = await registeredWithToken({ locale: 'fr' })
    expect(fr.sent.locale).toBe('en')
    expect(fr.sent.subject).toBe('Confirm your e-mail address')
  })
})

describe('POST /verify-email', () => {
  it('answers { success: true } with no data, sets emailVerified, and a used token again still succeeds', async () => {
    const { user, token } = await registeredWithToken()
    expect((await me(h.app, user.accessToken)).json().data.emailVerified).toBe(false)
    const res = await verify(token)
    expect(res.statusCode, res.body).toBe(200)
    expect(res.json()).toEqual({ success: true })
    expect((await me(h.app, user.accessToken)).json().data.emailVerified).toBe(true)
    const again = await verify(token.toUpperCase())
    expect(again.statusCode, again.body).toBe(200)
    expect(again.json()).toEqual({ success: true })
  })

  it('a used token is invalid once the account is no longer verified', async () => {
    const { user, token } = await registeredWithToken()
    expect((await verify(token)).statusCode).toBe(200)
    await setUserFields(h, user.userId, { emailVerified: false })
    expectError(await verify(token), 400, 'VERIFY_EMAIL_INVALID_TOKEN', 'auth.verify_email.invalid_token')
  })

  it('an unknown token is 400 auth.verify_email.invalid_token', async () => {
    expectError(
      await verify('0b6f8a47-1c51-4d0c-9d5e-0f1c2b3a4d5e'),
      400,
      'VERIFY_EMAIL_INVALID_TOKEN',
      'auth.verify_email.invalid_token',
    )
  })

  it('a token older than EMAIL_VERIFY_TTL_S is invalid', async () => {
    const { user, token } = await registeredWithToken()
    clock.advance(86_400_000 + 1000)
    try {
      expectError(await verify(token), 400, 'VERIFY_EMAIL_INVALID_TOKEN')
    } finally {
      clock.advance(-(86_400_000 + 1000))
    }
    expect((await me(h.app, user.accessToken)).json().data.emailVerified).toBe(false)
  })

  it('a new token (resend) invalidates the older one', async () => {
    const { user, token: first } = await registeredWithToken()
    mail.mails.length = 0
    expect((await resend(user.email)).statusCode).toBe(200)
    const second = tokenOf((await mailTo(mail, user.email)).text, 'verify-email')
    expect(second).not.toBe(first)
    expectError(await verify(first), 400, 'VERIFY_EMAIL_INVALID_TOKEN')
    expect((await verify(second)).statusCode).toBe(200)
  })

  it.each([
    ['no body', undefined],
    ['no token', {}],
    ['not a UUID', { token: 'abc' }],
    ['a UUID v1, not v4', { token: 'c232ab00-9414-11ec-b3c8-9e6bdeced846' }],
    ['a number', { token: 42 }],
    ['an extra field', { token: '0b6f8a47-1c51-4d0c-9d5e-0f1c2b3a4d5e', admin: true }],
    ['an array', [{ token: '0b6f8a47-1c51-4d0c-9d5e-0f1c2b3a4d5e' }]],
  ])('bad input (%s) is a 400 VALIDATION_FAILED envelope', async (_name, payload) => {
    const res = await h.app.inject({
      method: 'POST',
      url: `${AUTH}/verify-email`,
      payload: payload as object,
    })
    expectError(res, 400, 'VALIDATION_FAILED')
  })
})

describe('POST /resend-verification', () => {
  const MESSAGE = { success: true, data: { message: 'Verification email sent (if account exists)' } }

  it('always answers 200 with the contract’s message; only an existing, active, unverified account gets mail', async () => {
    const unverified = await registerUser(h.app)
    const verified = await registeredWithToken()
    expect((await verify(verified.token)).statusCode).toBe(200)
    const suspended = await registerUser(h.app)
    await setUserFields(h, suspended.userId, { status: 'SUSPENDED' })
    await h.app.mailOutbox.idle()
    mail.mails.length = 0

    const emails = [unverified.email, verified.user.email, suspended.email, `nobody${Date.now()}@example.com`]
    for (const email of emails) {
      const res = await resend(email.toUpperCase())
      expect(res.statusCode, res.body).toBe(200)
      expect(res.json()).toEqual(MESSAGE)
    }
    await h.app.mailOutbox.idle()
    expect(mail.mails.map((m) => m.to)).toEqual([unverified.email])
    const skipped = await query<{ status: string; requested_email: string | null }>(
      h,
      sql`select status, requested_email from mail_outbox where kind = 'verify_email' and status = 'skipped'`,
    )
    expect(skipped.length).toBeGreaterThanOrEqual(3)
    // The asked-about address is not kept once the row is handled.
    expect(skipped.every((r) => r.requested_email === null)).toBe(true)
  })

  it.each([
    ['no e-mail', {}],
    ['not an e-mail', { email: 'nope' }],
    ['too long', { email: `${'a'.repeat(250)}@x.io` }],
    ['an extra field', { email: 'a@example.com', x: 1 }],
  ])('bad input (%s) is a 400 VALIDATION_FAILED envelope', async (_name, payload) => {
    expectError(
      await h.app.inject({ method: 'POST', url: `${AUTH}/resend-verification`, payload }),
      400,
      'VALIDATION_FAILED',
    )
  })
})
