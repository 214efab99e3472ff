import { SignJWT } from 'jose'
import { describe, expect, it } from 'vitest'
import { createAccessTokenSigner } from '../../auth/src/tokens/access-token-signer.js'
import {
  A,
  type AnalyticsApp,
  bearer,
  createSession,
  expectError,
  expectOk,
  heartbeat,
  identify,
  sessionRow,
  signToken,
  TEST_SECRET,
  testClock,
  testConfig,
  UNKNOWN_ID,
  useAnalyticsHarness,
} from './helper.js'

const h = useAnalyticsHarness()

const USER_A = '1a2b3c4d-0000-4000-8000-00000000000a'
const USER_B = '1a2b3c4d-0000-4000-8000-00000000000b'
const SID = '5e551011-0000-4000-8000-000000000001'

/** An app on a clock the test moves: a heartbeat adds the time since the session's last activity. */
async function clockedApp() {
  const clock = testClock(Date.now() - 3_600_000)
  return { clock, app: await h.build({ now: clock.nowMs }) }
}
const beat = (target: AnalyticsApp, id: string, seq?: number) =>
  target.inject({
    method: 'PATCH',
    url: `${A}/session/${id}/heartbeat`,
    ...(seq === undefined ? {} : { payload: { seq } }),
  })

describe('PATCH /session/:id/heartbeat', () => {
  it('adds the 30 s that passed per beat; two beats 30 s apart add 60', async () => {
    const { clock, app: c } = await clockedApp()
    const id = await createSession(c)
    clock.advance(30_000)
    expectOk(await heartbeat(c, id))
    expect((await sessionRow(h, id))!.duration).toBe(30)
    clock.advance(30_000)
    expectOk(await heartbeat(c, id))
    expect((await sessionRow(h, id))!.duration).toBe(60)
  })

  it('adds no more than the time since the last activity, and at most 30 s', async () => {
    const { clock, app: c } = await clockedApp()
    const id = await createSession(c)
    clock.advance(12_000)
    expectOk(await heartbeat(c, id))
    expect((await sessionRow(h, id))!.duration).toBe(12)
    // Five beats in a row, no time between them: nothing more.
    for (let i = 0; i < 5; i++) expectOk(await heartbeat(c, id))
    expect((await sessionRow(h, id))!.duration).toBe(12)
    // Ten minutes of silence count as one beat's 30 s, not ten minutes.
    clock.advance(600_000)
    expectOk(await heartbeat(c, id))
    expect((await sessionRow(h, id))!.duration).toBe(42)
  })

  it('two beats sent together (one batch) add only the time that passed', async () => {
    const { clock, app: c } = await clockedApp()
    const id = await createSession(c)
    clock.advance(30_000)
    const [a, b] = await Promise.all([heartbeat(c, id), heartbeat(c, id)])
    expectOk(a!)
    expectOk(b!)
    expect((await sessionRow(h, id))!.duration).toBe(30)
  })

  it('a repeated or older seq adds nothing; a higher one adds', async () => {
    const { clock, app: c } = await clockedApp()
    const id = await createSession(c)
    clock.advance(30_000)
    expectOk(await beat(c, id, 1))
    for (let i = 0; i < 4; i++) {
      clock.advance(30_000)
      expectOk(await beat(c, id, 1))
    }
    expect((await sessionRow(h, id))!).toMatchObject({ duration: 30, heartbeatSeq: 1 })
    expectOk(await beat(c, id, 0))
    expect((await sessionRow(h, id))!.duration).toBe(30)
    expectOk(await beat(c, id, 2))
    expect((await sessionRow(h, id))!).toMatchObject({ duration: 60, heartbeatSeq: 2 })
  })

  it('a storm of one seq, sent at once, adds 30 once', async () => {
    const { clock, app: c } = await clockedApp()
    const id = await createSession(c)
    clock.advance(45_000)
    for (const res of await Promise.all(Array.from({ length: 20 }, () => beat(c, id, 7)))) expectOk(res)
    expect((await sessionRow(h, id))!).toMatchObject({ duration: 30, heartbeatSeq: 7 })
  })

  it.each([
    ['a negative seq', { seq: -1 }],
    ['a fractional seq', { seq: 1.5 }],
    ['a string seq', { seq: '3' }],
    ['a seq above 2^31-1', { seq: 2 ** 31 }],
    ['an unknown field', { duration: 9999 }],
  ])('refuses %s with 400 and adds nothing', async (_name, payload) => {
    const id = await createSession(h.app)
    const res = await h.app.inject({ method: 'PATCH', url: `${A}/session/${id}/heartbeat`, payload })
    expectError(res, 400, 'VALIDATION_FAILED')
    expect((await sessionRow(h, id))!.duration).toBe(0)
  })

  it('moves last_activity_at to now and leaves the rest of the session alone', async () => {
    const { clock, app: c } = await clockedApp()
    const id = await createSession(c)
    const before = (await sessionRow(h, id))!
    clock.advance(30_000)
    expectOk(await heartbeat(c, id))
    const after = (await sessionRow(h, id))!
    expect(after.lastActivityAt.getTime()).toBe(before.lastActivityAt.getTime() + 30_000)
    expect(after.startedAt.getTime()).toBe(before.startedAt.getTime())
    expect(after).toMatchObject({ pageViews: 0, bounced: true, userId: null, duration: 30 })
  })

  it.each([
    ['an unknown id', UNKNOWN_ID],
    ['a malformed id', 'not-a-uuid'],
    ['an SQL-looking id', "x' or '1'='1"],
    ['a 200-character id', 'a'.repeat(200)],
  ])('answers { ok: true } for %s and changes nothing', async (_name, id) => {
    const other = await createSession(h.app)
    expectOk(await heartbeat(h.app, encodeURIComponent(id)))
    expect((await sessionRow(h, other))!.duration).toBe(0)
  })

  it('accepts an upper-case id', async () => {
    const { clock, app: c } = await clockedApp()
    const id = await createSession(c)
    clock.advance(30_000)
    expectOk(await heartbeat(c, id.toUpperCase()))
    expect((await sessionRow(h, id))!.duration).toBe(30)
  })

  it.each([
    ['no content type', {}],
    ['an empty application/json body ("Content-Type optional")', { 'content-type': 'application/json' }],
  ])('takes no body: %s → { ok: true }', async (_name, headers) => {
    const { clock, app: c } = await clockedApp()
    const id = await createSession(c)
    clock.advance(30_000)
    expectOk(await c.inject({ method: 'PATCH', url: `${A}/session/${id}/heartbeat`, headers }))
    expect((await sessionRow(h, id))!.duration).toBe(30)
  })
})

describe('PATCH /session/:id/identify', () => {
  it('sets user_id from the token sub; idempotent', async () => {
    const id = await createSession(h.app)
    expectOk(await identify(h.app, id, bearer(USER_A)))
    expect((await sessionRow(h, id))!.userId).toBe(USER_A)
    expectOk(await identify(h.app, id, bearer(USER_A)))
    expect((await sessionRow(h, id))!.userId).toBe(USER_A)
  })

  it('a second user overwrites (last writer wins)', async () => {
    const id = await createSession(h.app)
    expectOk(await identify(h.app, id, bearer(USER_A)))
    expectOk(await identify(h.app, id, bearer(USER_B)))
    expect((await sessionRow(h, id))!.userId).toBe(USER_B)
  })

  it('takes the user only from the token, never from a body', async () => {
    const id = await createSession(h.app)
    const res = await h.app.inject({
      method: 'PATCH',
      url: `${A}/session/${id}/identify`,
      headers: { authorization: bearer(USER_A) },
      payload: { userId: USER_B, sub: USER_B },
    })
    expectOk(res)
    expect((await sessionRow(h, id))!.userId).toBe(USER_A)
  })

  it('accepts an empty application/json body', async () => {
    const id = await createSession(h.app)
    const res = await h.app.inject({
      method: 'PATCH',
      url: `${A}/session/${id}/identify`,
      headers: { authorization: bearer(USER_A), 'content-type': 'application/json' },
    })
    expectOk(res)
    expect((await sessionRow(h, id))!.userId).toBe(USER_A)
  })

  it('changes nothing else on the session', async () => {
    const id = await createSession(h.app)
    const before = (await sessionRow(h, id))!
    expectOk(await identify(h.app, id, bearer(USER_A)))
    expect(await sessionRow(h, id)).toEqual({ ...before, userId: USER_A })
  })

  it.each([
    ['an unknown id', UNKNOWN_ID],
    ['a malformed id', 'not-a-uuid'],
    ['an SQL-looking id', "x'; update analytics_sessions set user_id = null; --"],
  ])('answers { ok: true } for %s and binds nothing', async (_name, id) => {
    const other = await createSession(h.app)
    expectOk(await identify(h.app, encodeURIComponent(id), bearer(USER_A)))
    expect((await sessionRow(h, other))!.userId).toBeNull()
  })
})

describe('PATCH /session/:id/identify: 401 for anything but a valid access token', () => {
  const key = new TextEncoder().encode(TEST_SECRET)
  const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url')
  const now = () => Math.floor(Date.now() / 1000)

  /** A token crafted with jose; by default exactly what the auth service issues. */
  const craft = (
    overrides: {
      secret?: string
      iss?: string
      aud?: string
      sub?: string
      alg?: string
      sid?: string | null
    } = {},
  ) => {
    const claims: Record<string, string> = { sub: overrides.sub ?? USER_A }
    if (overrides.sid !== null) claims.sid = overrides.sid ?? SID
    return new SignJWT(claims)
      .setProtectedHeader({ alg: overrides.alg ?? 'HS256', typ: 'at+jwt' })
      .setIssuedAt()
      .setExpirationTime('10m')
      .setIssuer(overrides.iss ?? 'bio-re-auth')
      .setAudience(overrides.aud ?? 'bio-re-api')
      .sign(overrides.secret ? new TextEncoder().encode(overrides.secret) : key)
  }

  it('(control) a jose-crafted token with the shared key and the right claims is accepted', async () => {
    const id = await createSession(h.app)
    expectOk(await identify(h.app, id, `Bearer ${await craft()}`))
    expect((await sessionRow(h, id))!.userId).toBe(USER_A)
  })

  const cases: [string, () => Promise<string | undefined>][] = [
    ['a missing Authorization header', async () => undefined],
    ['an empty Authorization header', async () => ''],
    ['a Basic scheme', async () => 'Basic dXNlcjpwYXNz'],
    ['"Bearer" without a token', async () => 'Bearer '],
    ['a garbage token', async () => 'Bearer garbage'],
    ['a three-part garbage token', async () => 'Bearer aaa.bbb.ccc'],
    [
      'an expired token',
      async () => {
        const sign = createAccessTokenSigner(
          { ...testConfig().tokens, accessTtlSeconds: 60 },
          () => Date.now() - 3_600_000,
        )
        return `Bearer ${sign({ userId: USER_A, sessionId: SID }).accessToken}`
      },
    ],
    [
      'a token forged with another key',
      async () => `Bearer ${await craft({ secret: 'another-secret-that-is-also-32-bytes-long!!' })}`,
    ],
    ['a token signed with HS512 (algorithm pinned)', async () => `Bearer ${await craft({ alg: 'HS512' })}`],
    [
      'an alg:none token',
      async () =>
        `Bearer ${b64({ alg: 'none', typ: 'JWT' })}.${b64({
          sub: USER_A,
          sid: SID,
          iat: now(),
          exp: now() + 600,
          iss: 'bio-re-auth',
          aud: 'bio-re-api',
        })}.`,
    ],
    ['a token for another audience', async () => `Bearer ${await craft({ aud: 'someone-else' })}`],
    ['a token from another issuer', async () => `Bearer ${await craft({ iss: 'evil-issuer' })}`],
    ['a token whose sub is not a UUID', async () => `Bearer ${await craft({ sub: 'admin' })}`],
    ['a token without sid', async () => `Bearer ${await craft({ sid: null })}`],
    [
      'a valid token with its signature altered',
      async () => {
        const t = signToken(USER_A)
        return `Bearer ${t.slice(0, -2)}${t.endsWith('AA') ? 'BB' : 'AA'}`
      },
    ],
    ['a token over 2048 characters', async () => `Bearer ${'a'.repeat(2100)}`],
  ]

  it.each(cases)('%s → 401 AUTH_UNAUTHORIZED envelope, nothing bound', async (_name, header) => {
    const id = await createSession(h.app)
    const res = await identify(h.app, id, await header())
    expectError(res, 401, 'AUTH_UNAUTHORIZED')
    expect(res.headers['www-authenticate']).toMatch(/^Bearer/)
    expect((await sessionRow(h, id))!.userId).toBeNull()
  })

  it('answers 401 for an unknown or malformed id too (auth runs first)', async () => {
    expectError(await identify(h.app, UNKNOWN_ID), 401, 'AUTH_UNAUTHORIZED')
    expectError(await identify(h.app, 'nope', 'Bearer garbage'), 401, 'AUTH_UNAUTHORIZED')
  })

  it('tells an expired token apart by its i18nKey', async () => {
    const sign = createAccessTokenSigner(
      { ...testConfig().tokens, accessTtlSeconds: 60 },
      () => Date.now() - 3_600_000,
    )
    const res = await identify(
      h.app,
      UNKNOWN_ID,
      `Bearer ${sign({ userId: USER_A, sessionId: SID }).accessToken}`,
    )
    expect(expectError(res, 401, 'AUTH_UNAUTHORIZED').i18nKey).toBe('auth.token.expired')
  })
})

describe('rate limits: identify is exempt, heartbeat is not', () => {
  it('with RATE_LIMIT_ENABLED=true, 40 identify calls all answer 200; heartbeat is limited to 5 / 30 s', async () => {
    const limited = await h.build({ env: { RATE_LIMIT_ENABLED: 'true' } })
    const id = await createSession(limited)
    for (let i = 0; i < 40; i++) {
      const res = await identify(limited, id, bearer(i % 2 ? USER_A : USER_B))
      expect(res.statusCode, `call ${i + 1}`).toBe(200)
      expect(res.headers['ratelimit-limit']).toBeUndefined()
    }
    expect((await sessionRow(h, id))!.userId).toBe(USER_A)
    // The control: the same app does limit the heartbeat (default 5 / 30 s).
    for (let i = 0; i < 5; i++) expectOk(await heartbeat(limited, id))
    expectError(await heartbeat(limited, id), 429, 'RATE_LIMITED')
  })
})
