import { createHmac, randomUUID } from 'node:crypto'
import { eq } from 'drizzle-orm'
import { exportSPKI, generateKeyPair, type JWTPayload, SignJWT } from 'jose'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { users } from '../../auth/src/db/schema.js'
import { registerUser, useAuthHarness } from '../../auth/test/helper.js'
import {
  A,
  createSession,
  expectError,
  expectOk,
  identify,
  sessionRow,
  TEST_SECRET,
  useAnalyticsHarness,
} from './helper.js'

/**
 * Token verification on the identify side (analytics verifies access tokens locally), with tokens
 * made by an independent library (jose). Complements services/auth/test/access-token.test.ts (the
 * verifier itself) and heartbeat-identify.test.ts (missing/garbage/expired/wrong key, iss, aud):
 * here asymmetric algorithms, algorithm confusion, nbf, tampering, oversized tokens, a verification
 * cache that must not outlive `exp`, and the documented revocation gap: the access token of a user
 * who logged out or was suspended stays valid, on both services, until it expires, and not after.
 */

const ACCESS_TTL_S = 120
/** The verifier's clock tolerance (@bio/token-verifier's DEFAULT_CLOCK_TOLERANCE_S). */
const TOLERANCE_S = 5

const h = useAnalyticsHarness()

const authH = useAuthHarness({ app: { env: { ACCESS_TOKEN_TTL_S: String(ACCESS_TTL_S) } } })

afterEach(() => {
  vi.useRealTimers()
})

const KEY = new TextEncoder().encode(TEST_SECRET)
const nowS = () => Math.floor(Date.now() / 1000)
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
const claims = (overrides: JWTPayload = {}): JWTPayload & { sid: string } => ({
  sub: randomUUID(),
  sid: randomUUID(),
  iss: 'bio-re-auth',
  aud: 'bio-re-api',
  iat: nowS(),
  exp: nowS() + 600,
  ...overrides,
})
const hs256 = (payload: JWTPayload, alg = 'HS256') =>
  new SignJWT(payload).setProtectedHeader({ alg, typ: 'at+jwt' }).sign(KEY)
const hmacToken = (header: object, payload: object, secret: string | Buffer = TEST_SECRET) => {
  const input = `${b64(header)}.${b64(payload)}`
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`
}

/** identify with `token` on a fresh session: 401 in the envelope and the session left anonymous. */
async function expectRefused(token: string, i18nKey = 'auth.token.invalid') {
  const id = await createSession(h.app)
  const res = await identify(h.app, id, `Bearer ${token}`)
  expect(expectError(res, 401, 'AUTH_UNAUTHORIZED').i18nKey).toBe(i18nKey)
  expect(res.headers['www-authenticate']).toMatch(/^Bearer error="invalid_token"/)
  expect((await sessionRow(h, id))!.userId).toBeNull()
}

async function expectAccepted(token: string, userId: string) {
  const id = await createSession(h.app)
  expectOk(await identify(h.app, id, `Bearer ${token}`))
  expect((await sessionRow(h, id))!.userId).toBe(userId)
}

describe('identify refuses forged and misused tokens', () => {
  it('(control) accepts a jose HS256 token with the shared key and the right claims', async () => {
    const c = claims()
    await expectAccepted(await hs256(c), c.sub!)
  })

  it.each(['RS256', 'PS256', 'ES256', 'EdDSA'])('%s tokens (asymmetric keys) are refused', async (alg) => {
    const { privateKey } = await generateKeyPair(alg)
    await expectRefused(await new SignJWT(claims()).setProtectedHeader({ alg, typ: 'JWT' }).sign(privateKey))
  })

  it('HS384/HS512 with the right key are refused (the algorithm is pinned)', async () => {
    await expectRefused(await hs256(claims(), 'HS384'))
    await expectRefused(await hs256(claims(), 'HS512'))
  })

  it('algorithm confusion: RS256/ES256 headers over an HMAC of the shared key, HS256 keyed with a public key', async () => {
    await expectRefused(hmacToken({ alg: 'RS256', typ: 'JWT' }, claims()))
    await expectRefused(hmacToken({ alg: 'ES256', typ: 'JWT' }, claims()))
    const { publicKey } = await generateKeyPair('RS256', { extractable: true })
    await expectRefused(hmacToken({ alg: 'HS256', typ: 'JWT' }, claims(), await exportSPKI(publicKey)))
  })

  it('alg none in any spelling, with or without a signature part', async () => {
    for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
      await expectRefused(`${b64({ alg, typ: 'JWT' })}.${b64(claims())}.`)
      await expectRefused(`${b64({ alg, typ: 'JWT' })}.${b64(claims())}`)
    }
  })

  it('a not-yet-valid token (nbf in the future) is refused', async () => {
    await expectRefused(await hs256(claims({ nbf: nowS() + 600 })))
  })

  it('an expired token (past the clock tolerance) is refused as expired', async () => {
    await expectRefused(
      await hs256(claims({ iat: nowS() - 900, exp: nowS() - TOLERANCE_S - 5 })),
      'auth.token.expired',
    )
  })

  it('wrong iss or aud are refused', async () => {
    await expectRefused(await hs256(claims({ iss: 'bio-re-auth-evil' })))
    await expectRefused(await hs256(claims({ aud: 'bio-re-api-evil' })))
    await expectRefused(await hs256(claims({ aud: ['x', 'y'] })))
  })

  it('a tampered payload or header under the original signature is refused', async () => {
    const original = claims()
    const [header, , signature] = (await hs256(original)).split('.') as [string, string, string]
    const forged = { ...original, sub: randomUUID() }
    await expectRefused(`${header}.${b64(forged)}.${signature}`)
    const [, payload, sig] = (await hs256(original)).split('.') as [string, string, string]
    await expectRefused(`${b64({ alg: 'HS256', typ: 'JWT', kid: 'x' })}.${payload}.${sig}`)
  })

  it('an oversized (but correctly signed) token is refused before it is parsed', async () => {
    await expectRefused(await hs256(claims({ pad: 'p'.repeat(4096) })))
  })

  it('a token anywhere but the Authorization header is ignored (query string, cookie, body)', async () => {
    const c = claims()
    const token = await hs256(c)
    const id = await createSession(h.app)
    for (const res of [
      await h.app.inject({ method: 'PATCH', url: `${A}/session/${id}/identify?access_token=${token}` }),
      await h.app.inject({
        method: 'PATCH',
        url: `${A}/session/${id}/identify`,
        headers: { cookie: `access_token=${token}` },
      }),
      await h.app.inject({ method: 'PATCH', url: `${A}/session/${id}/identify`, payload: { token } }),
    ]) {
      expectError(res, 401, 'AUTH_UNAUTHORIZED')
    }
    expect((await sessionRow(h, id))!.userId).toBeNull()
  })
})

describe('the verification cache never outlives the token', () => {
  it('a token accepted (and cached) is refused once it has expired', async () => {
    const c = claims({ exp: nowS() + 60 })
    const token = await hs256(c)
    await expectAccepted(token, c.sub!)
    await expectAccepted(token, c.sub!)
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(Date.now() + (60 + TOLERANCE_S + 2) * 1000)
    await expectRefused(token, 'auth.token.expired')
  })

  it('a token refused for nbf is accepted once nbf has passed', async () => {
    const c = claims({ nbf: nowS() + 60 })
    const token = await hs256(c)
    await expectRefused(token)
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(Date.now() + 61_000)
    await expectAccepted(token, c.sub!)
  })
})

describe('revoked users: valid until the access token expires (documented), not a second longer', () => {
  /** A new auth user; its access token has the file's TTL. */
  async function registered() {
    const user = await registerUser(authH.app)
    expect(user.res.json().data.expiresIn).toBe(ACCESS_TTL_S)
    return { ...user, refresh: user.refreshToken }
  }
  const me = (token: string) =>
    authH.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: { authorization: `Bearer ${token}` } })

  async function expectValidUntilExpiry(user: { userId: string; accessToken: string }) {
    // Still accepted by both services right after the revocation...
    expect((await me(user.accessToken)).statusCode).toBe(200)
    await expectAccepted(user.accessToken, user.userId)
    // ...and at the last second of its lifetime (plus the verifier's tolerance)...
    vi.useFakeTimers({ toFake: ['Date'] })
    const { exp } = JSON.parse(Buffer.from(user.accessToken.split('.')[1]!, 'base64url').toString()) as {
      exp: number
    }
    vi.setSystemTime((exp + TOLERANCE_S - 1) * 1000)
    expect((await me(user.accessToken)).statusCode).toBe(200)
    await expectAccepted(user.accessToken, user.userId)
    // ...but refused by both once it has expired.
    vi.setSystemTime((exp + TOLERANCE_S + 2) * 1000)
    expect(expectError(await me(user.accessToken), 401, 'AUTH_UNAUTHORIZED').i18nKey).toBe(
      'auth.token.expired',
    )
    await expectRefused(user.accessToken, 'auth.token.expired')
  }

  it('after logout: the refresh token is dead at once, the access token lives until exp', async () => {
    const user = await registered()
    const out = await authH.app.inject({
      method: 'POST',
      url: '/api/v1/auth/logout',
      cookies: { biore_refresh: user.refresh },
    })
    expect(out.statusCode).toBe(200)
    const refresh = await authH.app.inject({
      method: 'POST',
      url: '/api/v1/auth/refresh',
      cookies: { biore_refresh: user.refresh },
    })
    expectError(refresh, 401, 'INVALID_REFRESH_TOKEN')
    await expectValidUntilExpiry(user)
  })

  it('after suspension: no new tokens (refresh and login refused), the access token lives until exp', async () => {
    const user = await registered()
    await authH.database.db.update(users).set({ status: 'SUSPENDED' }).where(eq(users.id, user.userId))
    const refresh = await authH.app.inject({
      method: 'POST',
      url: '/api/v1/auth/refresh',
      cookies: { biore_refresh: user.refresh },
    })
    expectError(refresh, 401, 'REFRESH_ACCOUNT_SUSPENDED')
    await expectValidUntilExpiry(user)
  })
})
