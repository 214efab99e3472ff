import { generateKeyPairSync, randomUUID } from 'node:crypto'
import { accessClaims, hmacToken, keyToken, type TokenAttackContext } from '@bio/service-kit/testing'
import Fastify from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import {
  type AccessTokenVerifierOptions,
  accessTokenPlugin,
  createAccessTokenVerifier,
  publicKey,
  publicKeyKid,
  secretKid,
  toPublicJwk,
} from '../src/index.js'

const SECRET = 'plugin-test-secret-of-at-least-32-bytes!!'
const pem = (k: import('node:crypto').KeyObject) => k.export({ format: 'pem', type: 'spki' }).toString()
const keyA = generateKeyPairSync('ed25519')
const keyB = generateKeyPairSync('ed25519')
const ctx: TokenAttackContext = {
  secret: SECRET,
  issuer: 'bio-re-auth',
  audience: 'bio-re-api',
  subject: randomUUID(),
  edKeys: keyA,
}
const base = { issuer: ctx.issuer, audience: ctx.audience }
const edToken = (pair: typeof keyA, kid = publicKeyKid(pair.publicKey)) =>
  keyToken({ alg: 'EdDSA', typ: 'at+jwt', kid }, accessClaims(ctx), pair.privateKey)

/** A JWKS endpoint in memory: the keys it serves, whether it is up, and every fetch it got. */
function fakeIssuer(initial: (typeof keyA)[]) {
  const state = { keys: initial, up: true, fetches: 0 }
  const fetch = (async () => {
    state.fetches += 1
    if (!state.up) throw new Error('connect ECONNREFUSED 127.0.0.1:3001')
    const keys = state.keys.map((k) => toPublicJwk(publicKey(pem(k.publicKey))))
    return new Response(JSON.stringify({ keys }), { headers: { 'content-type': 'application/json' } })
  }) as typeof globalThis.fetch
  return { state, fetch }
}

function clock(start = 1_000_000) {
  let t = start
  return {
    now: () => t,
    advance: (ms: number) => {
      t += ms
    },
  }
}

/** A verifier over a fake issuer's JWKS and an injected clock, after its start fetch. */
async function jwksVerifier(keys: (typeof keyA)[]) {
  const issuer = fakeIssuer(keys)
  const c = clock()
  const verify = createAccessTokenVerifier({
    ...base,
    jwks: { url: 'http://127.0.0.1:1/jwks', fetch: issuer.fetch, now: c.now },
  })
  await verify.ready()
  return { issuer, c, verify }
}

describe('JWKS: fetched at start, refetched for an unknown kid at most once per 30 s', () => {
  it('a flood of invented kids causes at most one fetch per 30 s of the injected clock', async () => {
    const { issuer, c, verify } = await jwksVerifier([keyA])
    expect(issuer.state.fetches).toBe(1)
    expect((await verify(edToken(keyA))).sub).toBe(ctx.subject)
    // 500 invented kids within the first 30 s of the start fetch: no further fetch.
    const flood = async (n: number) => {
      const results = await Promise.allSettled(
        Array.from({ length: n }, () => verify(edToken(keyB, `invented-${randomUUID().slice(0, 8)}`))),
      )
      expect(results.every((r) => r.status === 'rejected')).toBe(true)
    }
    await flood(500)
    expect(issuer.state.fetches).toBe(1)
    c.advance(29_999)
    await flood(100)
    expect(issuer.state.fetches).toBe(1)
    // Past 30 s: exactly one more, however many kids arrive together.
    c.advance(2)
    await flood(300)
    expect(issuer.state.fetches).toBe(2)
  })

  it('picks up a key added to the JWKS (the next key) on the first token that names it', async () => {
    const { issuer, c, verify } = await jwksVerifier([keyA])
    issuer.state.keys = [keyA, keyB]
    c.advance(30_000)
    expect((await verify(edToken(keyB))).sub).toBe(ctx.subject)
    expect(issuer.state.fetches).toBe(2)
  })

  it('keeps verifying with the cached keys while the issuer is down, and drops a removed key later', async () => {
    const issuer = fakeIssuer([keyA, keyB])
    const errors: unknown[] = []
    const c = clock()
    const verify = createAccessTokenVerifier({
      ...base,
      jwks: {
        url: 'http://127.0.0.1:1/jwks',
        fetch: issuer.fetch,
        now: c.now,
        onError: (e) => errors.push(e),
      },
    })
    await verify.ready()
    issuer.state.up = false
    c.advance(3_600_000) // the cache is stale: a background refresh is tried, and fails
    expect((await verify(edToken(keyA))).sub).toBe(ctx.subject)
    await Promise.resolve()
    expect((await verify(edToken(keyB))).sub).toBe(ctx.subject)
    expect(errors.length).toBeGreaterThan(0)
    // The issuer is back without keyB: after the next refresh keyB no longer verifies.
    issuer.state.up = true
    issuer.state.keys = [keyA]
    c.advance(600_000)
    await verify(edToken(keyA))
    // That verification started the background refresh; wait for it (no new fetch is started).
    await verify.keySet.jwks!.refresh()
    expect(issuer.state.fetches).toBe(3)
    await expect(verify(edToken(keyB))).rejects.toMatchObject({ statusCode: 401 })
  })

  it('never takes a symmetric or private key from a JWKS', async () => {
    const fetch = (async () =>
      new Response(
        JSON.stringify({
          keys: [
            {
              kty: 'oct',
              k: Buffer.from(SECRET).toString('base64url'),
              kid: secretKid(SECRET),
              alg: 'HS256',
            },
            { ...keyA.privateKey.export({ format: 'jwk' }), kid: 'priv', alg: 'EdDSA' },
          ],
        }),
      )) as typeof globalThis.fetch
    const verify = createAccessTokenVerifier({ ...base, jwks: { url: 'http://127.0.0.1:1/jwks', fetch } })
    await verify.ready()
    await expect(
      verify(hmacToken({ alg: 'HS256', typ: 'at+jwt', kid: secretKid(SECRET) }, accessClaims(ctx), SECRET)),
    ).rejects.toMatchObject({ statusCode: 401 })
    await expect(verify(edToken(keyA, 'priv'))).rejects.toMatchObject({ statusCode: 401 })
  })
})

describe('accessTokenPlugin in a Fastify app of its own (no service kit)', () => {
  const apps: ReturnType<typeof Fastify>[] = []
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((a) => a.close()))
  })
  async function standalone(options: AccessTokenVerifierOptions) {
    const app = Fastify()
    apps.push(app)
    await app.register(accessTokenPlugin, options)
    app.get('/whoami', { preHandler: app.requireAuth }, async (req) => ({
      user: req.auth?.sub,
      sid: req.auth?.sid,
    }))
    return app
  }

  it('sets typed request.auth for a valid token', async () => {
    const app = await standalone({ ...base, signingSecret: SECRET })
    const token = hmacToken(
      { alg: 'HS256', typ: 'at+jwt', kid: secretKid(SECRET) },
      accessClaims(ctx),
      SECRET,
    )
    const res = await app.inject({ url: '/whoami', headers: { authorization: `Bearer ${token}` } })
    expect(res.statusCode).toBe(200)
    expect(res.json().user).toBe(ctx.subject)
  })

  it.each([
    ['no header', undefined, 'auth.token.missing', /^Bearer$/],
    ['a Basic header', 'Basic dTpw', 'auth.token.missing', /^Bearer$/],
    ['two spaces and garbage', 'Bearer  a.b.c', 'auth.token.invalid', /^Bearer error="invalid_token"/],
    [
      'a wrong-key token',
      `Bearer ${hmacToken({ alg: 'HS256', typ: 'at+jwt' }, accessClaims(ctx), 'x'.repeat(40))}`,
      'auth.token.invalid',
      /invalid_token/,
    ],
  ])(
    'answers %s with the envelope 401 and WWW-Authenticate',
    async (_n, authorization, i18nKey, challenge) => {
      const app = await standalone({ ...base, signingSecret: SECRET })
      const res = await app.inject({ url: '/whoami', headers: authorization ? { authorization } : {} })
      expect(res.statusCode).toBe(401)
      expect(res.headers['content-type']).toMatch(/^application\/json/)
      expect(res.headers['www-authenticate']).toMatch(challenge)
      expect(res.json()).toEqual({
        success: false,
        error: {
          code: 'AUTH_UNAUTHORIZED',
          message: expect.any(String),
          i18nKey,
          correlationId: res.json().error.correlationId,
        },
      })
      expect(res.json().error.correlationId).toBeTruthy()
      expect(res.body).not.toMatch(/FST_JWT|fast-jwt|Authorization token/)
    },
  )

  it('verifies EdDSA tokens from a JWKS and refuses an expired one as expired', async () => {
    const issuer = fakeIssuer([keyA])
    const app = await standalone({ ...base, jwks: { url: 'http://127.0.0.1:1/jwks', fetch: issuer.fetch } })
    expect(issuer.state.fetches).toBe(1)
    const ok = await app.inject({ url: '/whoami', headers: { authorization: `Bearer ${edToken(keyA)}` } })
    expect(ok.statusCode).toBe(200)
    const now = Math.floor(Date.now() / 1000)
    const old = keyToken(
      { alg: 'EdDSA', typ: 'at+jwt', kid: publicKeyKid(keyA.publicKey) },
      accessClaims(ctx, { iat: now - 1000, exp: now - 100 }),
      keyA.privateKey,
    )
    const res = await app.inject({ url: '/whoami', headers: { authorization: `Bearer ${old}` } })
    expect(res.json().error.i18nKey).toBe('auth.token.expired')
  })
})
