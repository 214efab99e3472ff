import { createHash } from 'node:crypto'
import { UUID_RE } from '@bio/service-kit/testing'
import { describe, expect, it } from 'vitest'
import {
  AUTH,
  type AuthApp,
  countUsers,
  expectError,
  me,
  newUser,
  rawRefreshCookie,
  refreshCookieOf,
  registerUser,
  sessionsOf,
  useAuthHarness,
  userById,
  usersByEmail,
} from './helper.js'

const h = useAuthHarness()

const register = (payload: unknown, headers: Record<string, string> = {}, target: AuthApp = h.app) =>
  target.inject({ method: 'POST', url: `${AUTH}/register`, payload: payload as object, headers })

describe('POST /register: success', () => {
  it('answers 201 with userId, accessToken and expiresIn 900, and nothing else', async () => {
    const res = await register(newUser())
    expect(res.statusCode, res.body).toBe(201)
    const body = res.json()
    expect(Object.keys(body).sort()).toEqual(['data', 'success'])
    expect(body.success).toBe(true)
    expect(Object.keys(body.data).sort()).toEqual(['accessToken', 'expiresIn', 'userId'])
    expect(body.data.userId).toMatch(UUID_RE)
    expect(body.data.accessToken.split('.')).toHaveLength(3)
    expect(body.data.expiresIn).toBe(900)
    // The refresh token is never in the body.
    expect(res.body).not.toContain(refreshCookieOf(res)!.value)
    expect(res.headers['cache-control']).toBe('no-store')
  })

  it('sets the biore_refresh cookie: HttpOnly, SameSite=Strict, Path=/api/v1/auth, 30-day Max-Age', async () => {
    const res = await register(newUser())
    const raw = rawRefreshCookie(res)
    expect(raw).toBeDefined()
    expect(raw).toMatch(/; HttpOnly(;|$)/)
    expect(raw).toMatch(/; SameSite=Strict(;|$)/)
    expect(raw).toMatch(/; Path=\/api\/v1\/auth(;|$)/)
    expect(raw).toMatch(/; Max-Age=2592000(;|$)/)
    // NODE_ENV=test without COOKIE_SECURE: no Secure flag (production defaults to Secure).
    expect(raw).not.toMatch(/; Secure/)
    const token = refreshCookieOf(res)!.value
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/)
  })

  it('adds Secure and Domain when COOKIE_SECURE and COOKIE_DOMAIN are set', async () => {
    const secure = await h.build({ env: { COOKIE_SECURE: 'true', COOKIE_DOMAIN: '.bio.example' } })
    const res = await register(newUser(), {}, secure)
    expect(res.statusCode).toBe(201)
    const raw = rawRefreshCookie(res)!
    expect(raw).toMatch(/; Secure(;|$)/)
    expect(raw).toMatch(/; Domain=\.bio\.example(;|$)/)
  })

  it('stores only the SHA-256 of the refresh token, in a session bound to the new user', async () => {
    const { userId, refreshToken, accessToken } = await registerUser(h.app)
    const sessions = await sessionsOf(h, userId)
    expect(sessions).toHaveLength(1)
    const [session] = sessions
    expect(session!.tokenHash).toBe(createHash('sha256').update(refreshToken).digest('hex'))
    expect(session!.tokenHash).not.toContain(refreshToken)
    expect(session!.revokedAt).toBeNull()
    expect(session!.rotatedAt).toBeNull()
    // The access token names the user and this session.
    const claims = JSON.parse(Buffer.from(accessToken.split('.')[1]!, 'base64url').toString())
    expect(claims.sub).toBe(userId)
    expect(claims.sid).toBe(session!.id)
    expect(claims.exp - claims.iat).toBe(900)
  })

  it('signs the new user in: the access token works for /me', async () => {
    const { userId, accessToken, email } = await registerUser(h.app)
    const res = await me(h.app, accessToken)
    expect(res.statusCode).toBe(200)
    expect(res.json().data).toMatchObject({ id: userId, email, status: 'ACTIVE', emailVerified: false })
  })

  it('trims and lower-cases the e-mail before storing it', async () => {
    const local = `Mixed.Case${Date.now()}`
    const res = await register(newUser({ email: `  ${local}@Example.COM  ` }))
    expect(res.statusCode, res.body).toBe(201)
    const row = await userById(h, res.json().data.userId)
    expect(row!.email).toBe(`${local.toLowerCase()}@example.com`)
  })

  it('lower-cases the username', async () => {
    const name = `Mixed_${Date.now()}`.slice(0, 30)
    const res = await register(newUser({ username: name }))
    expect(res.statusCode, res.body).toBe(201)
    const row = await userById(h, res.json().data.userId)
    expect(row!.username).toBe(name.toLowerCase())
  })

  it('stores a new account as ACTIVE, unverified, with an argon2id hash and its own referral code', async () => {
    const { userId, password } = await registerUser(h.app)
    const row = (await userById(h, userId))!
    expect(row.status).toBe('ACTIVE')
    expect(row.emailVerified).toBe(false)
    expect(row.passwordHash).toMatch(/^\$argon2id\$/)
    expect(row.passwordHash).not.toContain(password)
    expect(row.referralCode).toMatch(/^[A-HJ-NP-Z2-9]{10}$/)
    expect(row.referredBy).toBeNull()
  })
})

describe('POST /register: locale', () => {
  it('takes a supported locale from the body, lower-cased', async () => {
    const res = await register(newUser({ locale: 'DE' }), { 'accept-language': 'fr' })
    expect(res.statusCode, res.body).toBe(201)
    expect((await userById(h, res.json().data.userId))!.locale).toBe('de')
  })

  it('falls back to the best supported Accept-Language entry (quality order, primary tag)', async () => {
    const cases: [string, string][] = [
      ['fr-CA,fr;q=0.9,en;q=0.5', 'fr'],
      ['xx-YY, tr;q=0.3', 'tr'],
      ['en;q=0.2, es;q=0.8', 'es'],
      ['pt-BR', 'pt'],
      ['de;q=0, it;q=0.5', 'it'],
    ]
    for (const [header, expected] of cases) {
      const res = await register(newUser(), { 'accept-language': header })
      expect(res.statusCode, res.body).toBe(201)
      expect((await userById(h, res.json().data.userId))!.locale, header).toBe(expected)
    }
  })

  it('falls back to en without a usable Accept-Language', async () => {
    for (const header of [undefined, 'zz', '*', 'garbage;;;q=x']) {
      const res = await register(newUser(), header === undefined ? {} : { 'accept-language': header })
      expect(res.statusCode, res.body).toBe(201)
      expect((await userById(h, res.json().data.userId))!.locale, String(header)).toBe('en')
    }
  })

  it('refuses an unsupported locale with 400 UNSUPPORTED_LOCALE and writes nothing', async () => {
    const before = await countUsers(h)
    const body = newUser({ locale: 'xx' })
    const res = await register(body, { 'accept-language': 'de' })
    const error = expectError(res, 400, 'UNSUPPORTED_LOCALE', 'auth.register.unsupported_locale')
    expect(error.details?.[0]?.field).toBe('locale')
    expect(await countUsers(h)).toBe(before)
    expect(await usersByEmail(h, body.email)).toHaveLength(0)
  })
})

describe('POST /register: consent and attribution', () => {
  it('stores the terms and privacy versions with the acceptance time of the injected clock', async () => {
    const at = new Date('2026-03-04T05:06:07.000Z')
    const versioned = await h.build({
      env: { TERMS_VERSION: 'terms-2026-03', PRIVACY_VERSION: 'privacy-2026-02' },
      now: () => at,
    })
    const res = await register(newUser(), {}, versioned)
    expect(res.statusCode, res.body).toBe(201)
    const row = (await userById(h, res.json().data.userId))!
    expect(row.termsVersion).toBe('terms-2026-03')
    expect(row.privacyVersion).toBe('privacy-2026-02')
    expect(row.termsAcceptedAt.toISOString()).toBe(at.toISOString())
    expect(row.privacyAcceptedAt.toISOString()).toBe(at.toISOString())
    expect(row.createdAt.toISOString()).toBe(at.toISOString())
  })

  it('uses the default policy versions when none are configured', async () => {
    const { userId } = await registerUser(h.app)
    const row = (await userById(h, userId))!
    expect(row.termsVersion).toBe('2026-01-01')
    expect(row.privacyVersion).toBe('2026-01-01')
  })

  it('stores the attribution snapshot, intent and display name', async () => {
    const creator = '123e4567-e89b-42d3-a456-426614174000'
    const res = await register(
      newUser({
        displayName: 'Ada Lovelace',
        intent: 'creator',
        utmSource: 'newsletter',
        utmMedium: 'email',
        utmCampaign: 'spring',
        utmTerm: 'bio link',
        utmContent: 'hero-button',
        firstReferrerUrl: 'https://search.example/?q=bio',
        firstLandingPage: 'https://bio.example/pricing',
        acquiredViaCreatorId: creator,
        captchaToken: 'ignored-token',
      }),
    )
    expect(res.statusCode, res.body).toBe(201)
    const row = (await userById(h, res.json().data.userId))!
    expect(row).toMatchObject({
      displayName: 'Ada Lovelace',
      intent: 'creator',
      utmSource: 'newsletter',
      utmMedium: 'email',
      utmCampaign: 'spring',
      utmTerm: 'bio link',
      utmContent: 'hero-button',
      firstReferrerUrl: 'https://search.example/?q=bio',
      firstLandingPage: 'https://bio.example/pricing',
      acquiredViaCreatorId: creator,
    })
  })

  it('leaves the attribution fields null when they are not sent', async () => {
    const { userId } = await registerUser(h.app)
    const row = (await userById(h, userId))!
    expect(row).toMatchObject({
      displayName: null,
      username: null,
      intent: null,
      utmSource: null,
      utmMedium: null,
      utmCampaign: null,
      utmTerm: null,
      utmContent: null,
      firstReferrerUrl: null,
      firstLandingPage: null,
      acquiredViaCreatorId: null,
    })
  })

  it('stores the User-Agent as registrationDevice, cut to 512 characters', async () => {
    const short = await registerUser(h.app, {}, { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Test/1.0' })
    expect((await userById(h, short.userId))!.registrationDevice).toBe(
      'Mozilla/5.0 (X11; Linux x86_64) Test/1.0',
    )
    const long = await registerUser(h.app, {}, { 'user-agent': `UA/${'x'.repeat(1000)}` })
    const device = (await userById(h, long.userId))!.registrationDevice!
    expect(device).toHaveLength(512)
    expect(device.startsWith('UA/xxx')).toBe(true)
  })

  it('stores the ISO country of the client IP as registrationCountry (GeoIP), never the IP', async () => {
    const seen: string[] = []
    const geoApp = await h.build({
      env: { TRUST_PROXY: 'true' },
      geo: {
        lookup: (ip) => {
          seen.push(ip)
          return { country: 'Turkey', countryCode: 'TR', city: 'Istanbul' }
        },
      },
    })
    const user = await registerUser(geoApp, {}, { 'cf-connecting-ip': '203.0.113.9' })
    expect(seen).toEqual(['203.0.113.9'])
    const row = (await userById(h, user.userId))!
    expect(row.registrationCountry).toBe('TR')
    expect(JSON.stringify(row)).not.toContain('203.0.113')
    // Without a GeoIP database the country is unknown.
    expect((await userById(h, (await registerUser(h.app)).userId))!.registrationCountry).toBeNull()
  })

  it("sets referred_by from an existing user's referral code", async () => {
    const referrer = await registerUser(h.app)
    const code = (await userById(h, referrer.userId))!.referralCode
    const referred = await registerUser(h.app, { referralCode: code })
    expect((await userById(h, referred.userId))!.referredBy).toBe(referrer.userId)
  })

  it('ignores an unknown referral code', async () => {
    const res = await register(newUser({ referralCode: 'NOSUCHCODE' }))
    expect(res.statusCode, res.body).toBe(201)
    expect((await userById(h, res.json().data.userId))!.referredBy).toBeNull()
  })
})

describe('POST /register: conflicts and policies', () => {
  it('answers 409 EMAIL_TAKEN for a registered e-mail, in any case and with spaces', async () => {
    const first = await registerUser(h.app)
    for (const email of [first.email, first.email.toUpperCase(), `  ${first.email.replace(/^u/, 'U')} `]) {
      const res = await register(newUser({ email }))
      expectError(res, 409, 'EMAIL_TAKEN', 'auth.register.email_taken')
      expect(refreshCookieOf(res)).toBeUndefined()
    }
    expect(await usersByEmail(h, first.email)).toHaveLength(1)
    expect(await sessionsOf(h, first.userId)).toHaveLength(1)
  })

  it('answers 409 USERNAME_TAKEN for a taken username in any case', async () => {
    const name = `taken${Date.now()}`.slice(0, 30)
    await registerUser(h.app, { username: name })
    const before = await countUsers(h)
    const res = await register(newUser({ username: name.toUpperCase() }))
    expectError(res, 409, 'USERNAME_TAKEN', 'auth.register.username_taken')
    expect(await countUsers(h)).toBe(before)
  })

  it('answers 409 USERNAME_RESERVED for reserved names, in any case', async () => {
    const before = await countUsers(h)
    for (const username of ['admin', 'Admin', 'SUPPORT', 'root']) {
      const res = await register(newUser({ username }))
      expectError(res, 409, 'USERNAME_RESERVED', 'auth.register.username_reserved')
    }
    expect(await countUsers(h)).toBe(before)
  })

  it('answers 400 DISPOSABLE_EMAIL for a throw-away domain and its subdomains', async () => {
    const before = await countUsers(h)
    for (const email of ['someone@mailinator.com', 'someone@MAILINATOR.COM', 'x@sub.mailinator.com']) {
      const res = await register(newUser({ email }))
      const error = expectError(res, 400, 'DISPOSABLE_EMAIL', 'auth.register.disposable_email')
      expect(error.details?.[0]?.field).toBe('email')
    }
    expect(await countUsers(h)).toBe(before)
  })

  it('answers 403 REGISTRATION_CLOSED when REGISTRATION_ENABLED=false, and writes nothing', async () => {
    const closed = await h.build({ env: { REGISTRATION_ENABLED: 'false' } })
    const before = await countUsers(h)
    const res = await register(newUser(), {}, closed)
    expectError(res, 403, 'REGISTRATION_CLOSED', 'auth.register.closed')
    expect(refreshCookieOf(res)).toBeUndefined()
    expect(await countUsers(h)).toBe(before)
  })

  it.each([
    ['too short', 'Ab1defg', 'minLength'],
    ['no digit', 'Abcdefghij', 'pattern'],
    ['no upper-case letter', 'abcdefgh1', 'pattern'],
    ['no lower-case letter', 'ABCDEFGH1', 'pattern'],
    ['too long', `Aa1${'x'.repeat(126)}`, 'maxLength'],
  ])('refuses a password that is %s (400 VALIDATION_FAILED on password)', async (_name, password, rule) => {
    const before = await countUsers(h)
    const res = await register(newUser({ password }))
    const error = expectError(res, 400, 'VALIDATION_FAILED', 'common.validation_failed')
    expect(error.details).toContainEqual(expect.objectContaining({ field: 'password', rule }))
    expect(await countUsers(h)).toBe(before)
  })

  it('accepts a password of exactly 8 and of exactly 128 characters', async () => {
    await registerUser(h.app, { password: 'Abcdef1!' })
    await registerUser(h.app, { password: `Aa1${'z'.repeat(125)}` })
  })

  it('refuses acceptedTerms=false, acceptedPrivacy=false and missing consents', async () => {
    const before = await countUsers(h)
    const cases: [Record<string, unknown>, string][] = [
      [{ acceptedTerms: false }, 'acceptedTerms'],
      [{ acceptedPrivacy: false }, 'acceptedPrivacy'],
      [{ acceptedTerms: 'true' }, 'acceptedTerms'],
    ]
    for (const [overrides, field] of cases) {
      const error = expectError(await register(newUser(overrides)), 400, 'VALIDATION_FAILED')
      expect(error.details?.map((d) => d.field)).toContain(field)
    }
    const { acceptedTerms: _t, acceptedPrivacy: _p, ...withoutConsent } = newUser()
    const error = expectError(await register(withoutConsent), 400, 'VALIDATION_FAILED')
    expect(error.details).toEqual(
      expect.arrayContaining([
        { field: 'acceptedTerms', message: 'is required', rule: 'required' },
        { field: 'acceptedPrivacy', message: 'is required', rule: 'required' },
      ]),
    )
    expect(await countUsers(h)).toBe(before)
  })
})

describe('POST /register: concurrency', () => {
  it('8 parallel sign-ups with one e-mail (mixed case): exactly one 201, seven 409, one row', async () => {
    const email = `race${Date.now()}@example.com`
    const variants = [email, email.toUpperCase(), ` ${email}`, email.replace('race', 'RACE')]
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => register(newUser({ email: variants[i % variants.length] }))),
    )
    const statuses = results.map((r) => r.statusCode).sort()
    expect(statuses).toEqual([201, 409, 409, 409, 409, 409, 409, 409])
    for (const r of results.filter((r) => r.statusCode === 409)) expectError(r, 409, 'EMAIL_TAKEN')
    const rows = await usersByEmail(h, email)
    expect(rows).toHaveLength(1)
    const winner = results.find((r) => r.statusCode === 201)!
    expect(rows[0]!.id).toBe(winner.json().data.userId)
    expect(await sessionsOf(h, rows[0]!.id)).toHaveLength(1)
  })

  it('parallel sign-ups with one username and different e-mails: one 201, the rest USERNAME_TAKEN', async () => {
    const username = `dup${Date.now()}`.slice(0, 30)
    const results = await Promise.all(Array.from({ length: 5 }, () => register(newUser({ username }))))
    expect(results.filter((r) => r.statusCode === 201)).toHaveLength(1)
    for (const r of results.filter((r) => r.statusCode !== 201)) expectError(r, 409, 'USERNAME_TAKEN')
  })
})
