import { sql } from 'drizzle-orm'
import type { LightMyRequestResponse } from 'fastify'
import { describe, expect, it } from 'vitest'
import {
  AUTH,
  countUsers,
  expectError,
  newUser,
  REFRESH_COOKIE_NAME,
  refreshCookieOf,
  registerUser,
  useAuthHarness,
} from './helper.js'

/**
 * Hostile and malformed input on every route: always a 4xx error envelope, never a 500, and
 * nothing written. Tests in this file run one after another, so the row counts are exact.
 */

const h = useAuthHarness()

const BODY_ROUTES = [
  'register',
  'login',
  'refresh',
  'logout',
  'verify-email',
  'resend-verification',
  'forgot-password',
  'reset-password',
  'change-password',
] as const
type Route = (typeof BODY_ROUTES)[number]

const TOKEN = '0b6f8a47-1c51-4d0c-9d5e-0f1c2b3a4d5e'
/** A body each route accepts (register's e-mail is unique per call). */
const VALID_BODIES: Record<Route, () => Record<string, unknown>> = {
  register: () => newUser(),
  login: () => ({ email: 'someone@example.com', password: 'Whatever1' }),
  refresh: () => ({ refreshToken: 'some-token' }),
  logout: () => ({ refreshToken: 'some-token' }),
  'verify-email': () => ({ token: TOKEN }),
  'resend-verification': () => ({ email: 'someone@example.com' }),
  'forgot-password': () => ({ email: 'someone@example.com' }),
  'reset-password': () => ({ token: TOKEN, newPassword: 'Whatever-New1' }),
  'change-password': () => ({ currentPassword: 'Whatever1', newPassword: 'Whatever-New1' }),
}
const validBody = (route: Route): Record<string, unknown> => VALID_BODIES[route]()

async function countSessions(): Promise<number> {
  const [row] = (await h.database.db.execute(
    sql`select count(*)::int as n from refresh_sessions`,
  )) as unknown as {
    n: number
  }[]
  return row!.n
}

/** Rows of the tables the account routes write: outbox, tokens, audit events. */
async function countOtherWrites(): Promise<Record<string, number>> {
  const [row] = (await h.database.db.execute(
    sql`select (select count(*)::int from mail_outbox) as outbox, (select count(*)::int from account_tokens) as tokens,
        (select count(*)::int from auth_audit_events) as audit`,
  )) as unknown as Record<string, number>[]
  return row!
}

/** Runs `send` and asserts a 4xx envelope with no user or session written. */
async function expectRejected(
  send: () => Promise<LightMyRequestResponse>,
  status: number,
  code?: string,
): Promise<ReturnType<typeof expectError>> {
  // The mail sender works in the background (a verification mail issues its token when it is
  // sent): let it finish what earlier requests queued before counting, and again after.
  await h.app.mailOutbox.idle()
  const users = await countUsers(h)
  const sessions = await countSessions()
  const others = await countOtherWrites()
  const res = await send()
  await h.app.mailOutbox.idle()
  expect(res.statusCode, res.body).toBeGreaterThanOrEqual(400)
  expect(res.statusCode, res.body).toBeLessThan(500)
  const error = expectError(res, status, code)
  expect(refreshCookieOf(res)?.value ?? '').toBe('')
  expect(await countUsers(h)).toBe(users)
  expect(await countSessions()).toBe(sessions)
  expect(await countOtherWrites()).toEqual(others)
  return error
}

const raw = (route: Route, payload: string, contentType = 'application/json') =>
  h.app.inject({ method: 'POST', url: `${AUTH}/${route}`, payload, headers: { 'content-type': contentType } })

describe.each(BODY_ROUTES)('POST /%s with a malformed body', (route) => {
  it('malformed JSON → 400 MALFORMED_BODY', async () => {
    for (const payload of ['{"email":', '{bad json}', "{'a':1}", '{"a":1}}', '\u0000']) {
      await expectRejected(() => raw(route, payload), 400, 'MALFORMED_BODY')
    }
  })

  it('text/plain, form-encoded and other media types → 415 UNSUPPORTED_MEDIA_TYPE', async () => {
    const json = JSON.stringify(validBody(route))
    for (const type of [
      'text/plain',
      'text/plain; charset=utf-8',
      'application/x-www-form-urlencoded',
      'application/xml',
    ]) {
      await expectRejected(() => raw(route, json, type), 415, 'UNSUPPORTED_MEDIA_TYPE')
    }
  })

  it('a body over AUTH_BODY_LIMIT (16 KiB) → 413 PAYLOAD_TOO_LARGE', async () => {
    const payload = JSON.stringify({ ...validBody(route), padding: 'x'.repeat(16 * 1024) })
    await expectRejected(() => raw(route, payload), 413, 'PAYLOAD_TOO_LARGE')
  })

  it('a JSON array, null, number, string or boolean as the body → 400 VALIDATION_FAILED', async () => {
    for (const payload of ['[]', JSON.stringify([validBody(route)]), 'null', '42', '"text"', 'true']) {
      await expectRejected(() => raw(route, payload), 400, 'VALIDATION_FAILED')
    }
  })

  it('__proto__ and constructor.prototype keys → 400, and no prototype is polluted', async () => {
    const base = validBody(route)
    const bodies = [
      `{"__proto__":{"polluted":true},${JSON.stringify(base).slice(1)}`,
      `{"constructor":{"prototype":{"polluted":true}},${JSON.stringify(base).slice(1)}`,
      `{"nested":{"__proto__":{"polluted":true}},${JSON.stringify(base).slice(1)}`,
    ]
    for (const payload of bodies) await expectRejected(() => raw(route, payload), 400)
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it('a plain "constructor" key is an unknown field: 400 listing it', async () => {
    const payload = JSON.stringify({ ...validBody(route), constructor: 'x' })
    const error = await expectRejected(() => raw(route, payload), 400, 'VALIDATION_FAILED')
    expect(error.details).toContainEqual({
      field: 'constructor',
      message: 'is not allowed',
      rule: 'additionalProperties',
    })
  })

  it('extra fields → 400 VALIDATION_FAILED with details listing each field', async () => {
    const payload = JSON.stringify({ ...validBody(route), isAdmin: true, role: 'admin' })
    const error = await expectRejected(() => raw(route, payload), 400, 'VALIDATION_FAILED')
    const fields = error.details!.filter((d) => d.rule === 'additionalProperties').map((d) => d.field)
    expect(fields.sort()).toEqual(['isAdmin', 'role'])
  })

  it('deeply nested JSON → 400, not a crash', async () => {
    const payload = `{"x":${'['.repeat(2000)}${']'.repeat(2000)}}`
    await expectRejected(() => raw(route, payload), 400)
  })
})

describe('POST /register: field rules', () => {
  const register = (payload: unknown) =>
    h.app.inject({ method: 'POST', url: `${AUTH}/register`, payload: payload as object })

  it('missing fields: one detail per missing required field', async () => {
    const error = await expectRejected(() => register({}), 400, 'VALIDATION_FAILED')
    const required = error.details!.filter((d) => d.rule === 'required').map((d) => d.field)
    expect(required.sort()).toEqual(['acceptedPrivacy', 'acceptedTerms', 'email', 'password'])
  })

  it.each([
    ['email', 123],
    ['email', null],
    ['email', ['a@example.com']],
    ['email', 'not-an-email'],
    ['email', 'two@@example.com'],
    ['email', 'nodomain@'],
    ['password', true],
    ['password', 12345678],
    ['acceptedTerms', 'true'],
    ['acceptedTerms', 1],
    ['acceptedPrivacy', null],
    ['username', ['name']],
    ['username', 'ab'],
    ['username', 'has space'],
    ['username', 'semi;colon'],
    ['username', 'ünï'],
    ['displayName', ''],
    ['displayName', { text: 'x' }],
    ['intent', 'admin'],
    ['intent', 'CREATOR'],
    ['locale', 'english!'],
    ['locale', 'e'],
    ['locale', 42],
    ['acquiredViaCreatorId', 'not-a-uuid'],
    ['acquiredViaCreatorId', 'urn:uuid:123e4567-e89b-12d3-a456-426614174000'],
    ['referralCode', ''],
    ['utmSource', 5],
  ])('%s = %j → 400 on that field', async (field, value) => {
    const error = await expectRejected(() => register(newUser({ [field]: value })), 400, 'VALIDATION_FAILED')
    expect(error.details!.map((d) => d.field)).toContain(field)
  })

  it.each([
    ['email', `${'a'.repeat(250)}@example.com`],
    ['password', `Aa1${'b'.repeat(126)}`],
    ['username', 'u'.repeat(31)],
    ['displayName', 'd'.repeat(101)],
    ['captchaToken', 'c'.repeat(4097)],
    ['referralCode', 'r'.repeat(65)],
    ['locale', `en-${'abcdefgh-'.repeat(4)}x`],
    ['utmSource', 's'.repeat(256)],
    ['utmMedium', 'm'.repeat(256)],
    ['utmCampaign', 'c'.repeat(256)],
    ['utmTerm', 't'.repeat(256)],
    ['utmContent', 'c'.repeat(256)],
    ['firstReferrerUrl', `https://x.example/${'p'.repeat(2040)}`],
    ['firstLandingPage', `https://x.example/${'p'.repeat(2040)}`],
  ])('oversized %s → 400 maxLength', async (field, value) => {
    const error = await expectRejected(() => register(newUser({ [field]: value })), 400, 'VALIDATION_FAILED')
    expect(error.details).toContainEqual(expect.objectContaining({ field, rule: 'maxLength' }))
  })

  it.each([
    'displayName',
    'utmSource',
    'utmCampaign',
    'firstReferrerUrl',
    'firstLandingPage',
    'referralCode',
  ])('a NUL character in %s → 400 on that field (PostgreSQL text cannot store it)', async (field) => {
    const error = await expectRejected(
      () => register(newUser({ [field]: 'a\u0000b' })),
      400,
      'VALIDATION_FAILED',
    )
    expect(error.details).toContainEqual(expect.objectContaining({ field }))
  })

  it('a NUL character anywhere in a JSON body, the password included, is a 400 naming the field', async () => {
    for (const field of ['password', 'displayName', 'utmSource']) {
      const error = await expectRejected(
        () =>
          h.app.inject({
            method: 'POST',
            url: `${AUTH}/register`,
            payload: newUser({ [field]: 'Secret\u0000Pass1' }),
          }),
        400,
        'VALIDATION_FAILED',
      )
      expect(error.details).toEqual([
        { field, message: 'must not contain NUL characters or lone surrogates', rule: 'unstorable' },
      ])
    }
  })
})

describe('POST /login, /refresh, /logout: field rules', () => {
  const post = (route: Route, payload: unknown) =>
    h.app.inject({ method: 'POST', url: `${AUTH}/${route}`, payload: payload as object })

  it('login: missing fields are listed', async () => {
    const error = await expectRejected(() => post('login', {}), 400, 'VALIDATION_FAILED')
    expect(error.details!.map((d) => d.field).sort()).toEqual(['email', 'password'])
  })

  it.each([
    ['email', 42],
    ['email', 'not-an-email'],
    ['email', `${'a'.repeat(250)}@example.com`],
    ['password', ''],
    ['password', 123],
    ['password', 'p'.repeat(129)],
    ['captchaToken', 'c'.repeat(4097)],
    ['turnstileToken', ''],
  ])('login: %s = %j → 400 on that field', async (field, value) => {
    const body = { email: 'someone@example.com', password: 'Whatever1', [field]: value }
    const error = await expectRejected(() => post('login', body), 400, 'VALIDATION_FAILED')
    expect(error.details!.map((d) => d.field)).toContain(field)
  })

  it.each(['refresh', 'logout'] as const)(
    '%s: refreshToken of the wrong type, empty or oversized → 400',
    async (route) => {
      for (const refreshToken of [123, null, ['t'], { t: 1 }, '', 'x'.repeat(513)]) {
        const error = await expectRejected(() => post(route, { refreshToken }), 400, 'VALIDATION_FAILED')
        expect(error.details!.map((d) => d.field)).toContain('refreshToken')
      }
    },
  )

  it('a NUL character (400) or a broken cookie (401) as the refresh token, never 500', async () => {
    await expectRejected(() => post('refresh', { refreshToken: 'a\u0000b' }), 400, 'VALIDATION_FAILED')
    await expectRejected(
      () =>
        h.app.inject({
          method: 'POST',
          url: `${AUTH}/refresh`,
          headers: { cookie: `${REFRESH_COOKIE_NAME}=%E0%A4%A; other=%%%` },
        }),
      401,
      'INVALID_REFRESH_TOKEN',
    )
  })

  it('a long cookie token is hashed and refused, not a crash', async () => {
    await expectRejected(
      () =>
        h.app.inject({
          method: 'POST',
          url: `${AUTH}/refresh`,
          cookies: { [REFRESH_COOKIE_NAME]: 'x'.repeat(4000) },
        }),
      401,
      'INVALID_REFRESH_TOKEN',
    )
  })
})

describe('empty JSON bodies', () => {
  it('refresh with content-type application/json and no body reads the cookie', async () => {
    const user = await registerUser(h.app)
    const res = await h.app.inject({
      method: 'POST',
      url: `${AUTH}/refresh`,
      headers: { 'content-type': 'application/json', cookie: `${REFRESH_COOKIE_NAME}=${user.refreshToken}` },
    })
    expect(res.statusCode, res.body).toBe(200)
  })

  it('logout with content-type application/json and no body succeeds', async () => {
    const res = await raw('logout', '')
    expect(res.statusCode, res.body).toBe(200)
    expect(res.json().data.message).toBe('Logged out successfully')
  })

  it('register and login with an empty JSON body → 400 listing the required fields', async () => {
    for (const route of ['register', 'login'] as const) {
      const error = await expectRejected(() => raw(route, ''), 400, 'VALIDATION_FAILED')
      expect(error.details!.some((d) => d.field === 'email' && d.rule === 'required')).toBe(true)
    }
  })
})

describe('GET /me with hostile headers', () => {
  it.each([
    ['Bearer', 'Bearer'],
    ['two tokens', 'Bearer a.b.c Bearer d.e.f'],
    ['an escaped CRLF injection attempt', 'Bearer a.b.c\\r\\nx-evil: 1'],
    ['unicode', 'Bearer ťőķēň'],
  ])('%s → 401', async (_name, authorization) => {
    const res = await h.app.inject({ method: 'GET', url: `${AUTH}/me`, headers: { authorization } })
    expectError(res, 401, 'AUTH_UNAUTHORIZED')
    expect(res.headers['x-evil']).toBeUndefined()
  })
})
