import { randomUUID } from 'node:crypto'
import { accessClaims, edKeyPair, hmacToken, hsHeader, privatePem, publicPem } from '@bio/service-kit/testing'
import { beforeAll, describe, expect, it } from 'vitest'
import { registerUser, useAuthHarness } from '../../auth/test/helper.js'
import {
  createSession,
  expectError,
  expectOk,
  identify,
  sessionRow,
  TEST_SECRET,
  testClock,
  useAnalyticsHarness,
} from './helper.js'

/**
 * EdDSA end to end in-process: auth signs with a private key and serves its JWKS; analytics holds
 * no signing material and verifies with the JWKS, fetched through an injected client that calls
 * auth (and can be switched off) under an injected clock.
 */

const clock = testClock(1_000_000)
const jwks = { fetches: 0, authUp: true }

const fetchViaAuth = (async () => {
  jwks.fetches += 1
  if (!jwks.authUp) throw new Error('connect ECONNREFUSED')
  const res = await authH.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })
  return new Response(res.body, { status: res.statusCode, headers: { 'content-type': 'application/json' } })
}) as typeof globalThis.fetch

const signing = edKeyPair()
const authH = useAuthHarness({
  app: {
    env: { JWT_ALGORITHM: 'EdDSA', JWT_PRIVATE_KEY: privatePem(signing.privateKey) },
  },
})

const h = useAnalyticsHarness({
  app: {
    // No JWT_SECRET: analytics holds nothing that can sign.
    env: {
      JWT_ALGORITHM: 'EdDSA',
      JWT_SECRET: '',
      JWT_JWKS_URL: 'http://127.0.0.1:3001/.well-known/jwks.json',
    },
    jwks: { fetch: fetchViaAuth, now: clock.nowMs },
  },
})

beforeAll(async () => {
  expect(publicPem(signing.publicKey)).toContain('PUBLIC KEY')
})

describe('identify with EdDSA tokens verified through auth JWKS', () => {
  it('auth serves its public key with kid, alg, use and a 10-minute public cache', async () => {
    const res = await authH.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })
    expect(res.statusCode).toBe(200)
    expect(res.headers['cache-control']).toBe('public, max-age=600')
    expect(res.headers['content-type']).toMatch(/^application\/json/)
    const body = res.json() as { keys: Record<string, unknown>[] }
    expect(body.keys).toHaveLength(1)
    expect(Object.keys(body.keys[0]!).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x'])
    expect(body.keys[0]).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' })
  })

  it('binds a session with an access token from auth login', async () => {
    const user = await registerUser(authH.app)
    const id = await createSession(h.app)
    expectOk(await identify(h.app, id, `Bearer ${user.accessToken}`))
    expect((await sessionRow(h, id))!.userId).toBe(user.userId)
    const me = await authH.app.inject({
      method: 'GET',
      url: '/api/v1/auth/me',
      headers: { authorization: `Bearer ${user.accessToken}` },
    })
    expect(me.statusCode).toBe(200)
  })

  it('a flood of unknown kids: at most one JWKS fetch per 30 s, every one refused in the envelope', async () => {
    const user = await registerUser(authH.app)
    const [, payload, signature] = user.accessToken.split('.') as [string, string, string]
    const forged = (kid: string) =>
      `${Buffer.from(JSON.stringify({ alg: 'EdDSA', typ: 'at+jwt', kid })).toString('base64url')}.${payload}.${signature}`
    clock.advance(31_000)
    const before = jwks.fetches
    for (let round = 0; round < 3; round++) {
      const id = await createSession(h.app)
      const answers = await Promise.all(
        Array.from({ length: 40 }, () => identify(h.app, id, `Bearer ${forged(randomUUID().slice(0, 12))}`)),
      )
      for (const res of answers) expectError(res, 401, 'AUTH_UNAUTHORIZED')
      expect((await sessionRow(h, id))!.userId).toBeNull()
      clock.advance(10_000)
    }
    // 120 unknown kids over 30 s of the clock: one fetch.
    expect(jwks.fetches - before).toBe(1)
  })

  it('keeps verifying with the cached keys while auth is down', async () => {
    const user = await registerUser(authH.app)
    jwks.authUp = false
    clock.advance(3_600_000)
    const id = await createSession(h.app)
    expectOk(await identify(h.app, id, `Bearer ${user.accessToken}`))
    expect((await sessionRow(h, id))!.userId).toBe(user.userId)
    jwks.authUp = true
  })
})

describe('the HS256 → EdDSA migration path', () => {
  it('in EdDSA mode JWT_SECRET plays no part; only a JWT_VERIFY_SECRETS key still verifies', async () => {
    const OLD = 'the-previous-shared-secret-of-32-bytes-!!'
    const migrating = await h.build({
      env: {
        JWT_ALGORITHM: 'EdDSA',
        JWT_SECRET: TEST_SECRET,
        JWT_VERIFY_SECRETS: OLD,
        JWT_PUBLIC_KEYS: publicPem(edKeyPair().publicKey),
      },
    })
    const ctx = (secret: string) => ({
      secret,
      issuer: 'bio-re-auth',
      audience: 'bio-re-api',
      subject: randomUUID(),
      edKeys: edKeyPair(),
    })
    const hs = (secret: string, header = hsHeader(ctx(secret))) =>
      hmacToken(header, accessClaims(ctx(secret)), secret)
    const answer = async (token: string) => {
      const id = await createSession(migrating)
      const res = await identify(migrating, id, `Bearer ${token}`)
      return { res, row: await sessionRow(h, id) }
    }
    const old = await answer(hs(OLD))
    expectOk(old.res)
    expect(old.row!.userId).not.toBeNull()
    for (const token of [
      hs(TEST_SECRET),
      hmacToken({ alg: 'HS256', typ: 'at+jwt' }, accessClaims(ctx(OLD)), OLD),
    ]) {
      const refused = await answer(token)
      expectError(refused.res, 401, 'AUTH_UNAUTHORIZED')
      expect(refused.row!.userId).toBeNull()
    }
  })
})
