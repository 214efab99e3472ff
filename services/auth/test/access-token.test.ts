import { createHmac, randomUUID } from 'node:crypto'
import {
  AppError,
  bearerToken,
  createAccessTokenSigner,
  createAccessTokenVerifier,
  MAX_TOKEN_LENGTH,
} from '@bio/shared'
import { exportSPKI, generateKeyPair, type JWTPayload, SignJWT, UnsecuredJWT } from 'jose'
import { describe, expect, it } from 'vitest'
import { TEST_SECRET } from './helper.js'

/**
 * The shared access-token verifier against tokens crafted by another library (jose). It lives here
 * rather than in shared/test because jose is a dev dependency of the auth service only.
 */

const CONFIG = { secret: TEST_SECRET, issuer: 'bio-re-auth', audience: 'bio-re-api' }
const KEY = new TextEncoder().encode(TEST_SECRET)
const verify = createAccessTokenVerifier(CONFIG)
const nowS = () => Math.floor(Date.now() / 1000)

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
const parts = (token: string) => token.split('.') as [string, string, string]

interface Claims extends JWTPayload {
  sid?: unknown
  [key: string]: unknown
}

const goodClaims = (): Claims => ({
  sub: randomUUID(),
  sid: randomUUID(),
  iss: CONFIG.issuer,
  aud: CONFIG.audience,
  iat: nowS(),
  exp: nowS() + 600,
})

/** An HS256 token signed by jose with the shared key; `claims` are used as given. */
const hs256 = (claims: Claims, key: Uint8Array = KEY, alg = 'HS256') =>
  new SignJWT(claims).setProtectedHeader({ alg, typ: 'JWT' }).sign(key)

/** Signs header.payload with HMAC-SHA256 of the shared key, whatever the header says. */
const hmacToken = (header: object, payload: object, secret: string | Buffer = TEST_SECRET) => {
  const input = `${b64(header)}.${b64(payload)}`
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`
}

function expectRejected(token: unknown, i18nKey = 'auth.token.invalid') {
  let caught: unknown
  try {
    verify(token as string)
  } catch (err) {
    caught = err
  }
  expect(caught, 'the token was accepted').toBeInstanceOf(AppError)
  const error = caught as AppError
  expect(error.statusCode).toBe(401)
  expect(error.code).toBe('AUTH_UNAUTHORIZED')
  expect(error.i18nKey).toBe(i18nKey)
  expect(error.headers?.['www-authenticate']).toMatch(/^Bearer error="invalid_token"/)
}

describe('createAccessTokenVerifier: accepts', () => {
  it('a token from createAccessTokenSigner, returning its claims', () => {
    const sign = createAccessTokenSigner({ ...CONFIG, ttlSeconds: 900 })
    const userId = randomUUID()
    const sessionId = randomUUID()
    const { accessToken, expiresIn } = sign({ userId, sessionId })
    expect(expiresIn).toBe(900)
    const claims = verify(accessToken)
    expect(claims).toMatchObject({ sub: userId, sid: sessionId, iss: CONFIG.issuer, aud: CONFIG.audience })
    expect(claims.exp - claims.iat).toBe(900)
    expect(Math.abs(claims.iat - nowS())).toBeLessThanOrEqual(2)
    expect(JSON.parse(Buffer.from(parts(accessToken)[0], 'base64url').toString()).alg).toBe('HS256')
  })

  it('a jose HS256 token with the right key and claims', async () => {
    const claims = goodClaims()
    expect(verify(await hs256(claims))).toMatchObject({ sub: claims.sub, sid: claims.sid })
  })

  it('an audience array that contains our audience', async () => {
    expect(verify(await hs256({ ...goodClaims(), aud: ['other-api', CONFIG.audience] })).sub).toBeTruthy()
  })

  it('a token expired by less than the 5 s clock tolerance', async () => {
    expect(verify(await hs256({ ...goodClaims(), iat: nowS() - 900, exp: nowS() - 2 })).sub).toBeTruthy()
  })

  it('a token of exactly MAX_TOKEN_LENGTH characters', async () => {
    const base = await hs256({ ...goodClaims(), pad: '' })
    const padded = await hs256({
      ...goodClaims(),
      pad: 'p'.repeat(Math.floor(((MAX_TOKEN_LENGTH - base.length) * 3) / 4)),
    })
    expect(padded.length).toBeLessThanOrEqual(MAX_TOKEN_LENGTH)
    expect(padded.length).toBeGreaterThan(MAX_TOKEN_LENGTH - 4)
    expect(verify(padded).sub).toBeTruthy()
  })
})

describe('createAccessTokenVerifier: rejects', () => {
  it('alg none (unsigned), with or without a signature part', () => {
    const unsigned = new UnsecuredJWT(goodClaims()).encode()
    expectRejected(unsigned)
    const [header, payload] = parts(unsigned)
    expectRejected(
      `${header}.${payload}.${createHmac('sha256', TEST_SECRET).update(`${header}.${payload}`).digest('base64url')}`,
    )
    for (const alg of ['none', 'None', 'NONE'])
      expectRejected(`${b64({ alg, typ: 'JWT' })}.${b64(goodClaims())}.`)
  })

  it('HS256 signed with another key', async () => {
    expectRejected(
      await hs256(goodClaims(), new TextEncoder().encode('a-completely-different-secret-of-32+bytes')),
    )
  })

  it('HS384 and HS512 even with the right key (the algorithm is pinned)', async () => {
    expectRejected(await hs256(goodClaims(), KEY, 'HS384'))
    expectRejected(await hs256(goodClaims(), KEY, 'HS512'))
  })

  it.each(['RS256', 'PS256', 'ES256', 'EdDSA'])('%s tokens from a generated key pair', async (alg) => {
    const { privateKey } = await generateKeyPair(alg)
    expectRejected(await new SignJWT(goodClaims()).setProtectedHeader({ alg, typ: 'JWT' }).sign(privateKey))
  })

  it('algorithm confusion: an RS256/ES256 header over an HMAC made with the shared key', () => {
    expectRejected(hmacToken({ alg: 'RS256', typ: 'JWT' }, goodClaims()))
    expectRejected(hmacToken({ alg: 'ES256', typ: 'JWT' }, goodClaims()))
  })

  it('algorithm confusion: HS256 keyed with a public key PEM', async () => {
    const { publicKey } = await generateKeyPair('RS256', { extractable: true })
    const pem = await exportSPKI(publicKey)
    expectRejected(hmacToken({ alg: 'HS256', typ: 'JWT' }, goodClaims(), pem))
  })

  it('an expired token (beyond the tolerance) with auth.token.expired', async () => {
    expectRejected(
      await hs256({ ...goodClaims(), iat: nowS() - 3600, exp: nowS() - 60 }),
      'auth.token.expired',
    )
  })

  it('a token from the signer with a clock an hour behind (expired)', () => {
    const sign = createAccessTokenSigner({ ...CONFIG, ttlSeconds: 900 }, () => Date.now() - 3_600_000)
    expectRejected(sign({ userId: randomUUID(), sessionId: randomUUID() }).accessToken, 'auth.token.expired')
  })

  it('nbf in the future', async () => {
    expectRejected(await hs256({ ...goodClaims(), nbf: nowS() + 600 }))
  })

  it.each([
    ['another issuer', { iss: 'evil-issuer' }],
    ['another audience', { aud: 'other-api' }],
    ['an audience array without ours', { aud: ['a', 'b'] }],
    ['a non-uuid sub', { sub: 'admin' }],
    ['a non-uuid sid', { sid: '1' }],
    ['a numeric sid', { sid: 42 }],
    ['an exp that is not a number', { exp: 'tomorrow' }],
  ])('%s', async (_name, override) => {
    expectRejected(hmacToken({ alg: 'HS256', typ: 'JWT' }, { ...goodClaims(), ...override }))
  })

  it.each(['sub', 'sid', 'iat', 'exp', 'iss', 'aud'])('a token without %s', async (claim) => {
    const claims = goodClaims()
    delete claims[claim]
    expectRejected(hmacToken({ alg: 'HS256', typ: 'JWT' }, claims))
  })

  it('a tampered payload (signature of the original kept)', async () => {
    const [header, , signature] = parts(await hs256(goodClaims()))
    expectRejected(`${header}.${b64(goodClaims())}.${signature}`)
  })

  it('a tampered header (signature of the original kept)', async () => {
    const [, payload, signature] = parts(await hs256(goodClaims()))
    expectRejected(`${b64({ alg: 'HS256', typ: 'JWT', kid: 'other' })}.${payload}.${signature}`)
    expectRejected(`${b64({ alg: 'HS256' })}.${payload}.${signature}`)
  })

  it('a truncated, stripped or extended signature', async () => {
    const token = await hs256(goodClaims())
    const [header, payload, signature] = parts(token)
    expectRejected(`${header}.${payload}.${signature.slice(0, -2)}`)
    expectRejected(`${header}.${payload}.`)
    expectRejected(`${header}.${payload}`)
    expectRejected(`${token}.extra`)
  })

  it('a correctly signed token longer than MAX_TOKEN_LENGTH', async () => {
    const long = await hs256({ ...goodClaims(), pad: 'p'.repeat(MAX_TOKEN_LENGTH) })
    expect(long.length).toBeGreaterThan(MAX_TOKEN_LENGTH)
    expectRejected(long)
  })

  it('garbage, empty and non-string input', () => {
    for (const token of ['', 'abc', 'a.b.c', '...', 'eyJhbGciOiJIUzI1NiJ9.e30.', undefined, null, 42]) {
      expectRejected(token)
    }
  })

  it('a token signed for another issuer configuration', () => {
    const sign = createAccessTokenSigner({ ...CONFIG, issuer: 'someone-else', ttlSeconds: 900 })
    expectRejected(sign({ userId: randomUUID(), sessionId: randomUUID() }).accessToken)
  })
})

describe('bearerToken', () => {
  it.each([
    ['Bearer a.b.c', 'a.b.c'],
    ['bearer a.b.c', 'a.b.c'],
    ['BEARER   a.b.c  ', 'a.b.c'],
    ['Bearer abc-_~+/=', 'abc-_~+/='],
  ])('%j → %j', (header, token) => {
    expect(bearerToken(header)).toBe(token)
  })

  it.each([
    undefined,
    '',
    'Bearer',
    'Bearer ',
    'Basic a.b.c',
    'Bearer a b',
    'Bearer a,b',
    'Token a.b.c',
    'Bearera.b.c',
  ])('%j → undefined', (header) => {
    expect(bearerToken(header)).toBeUndefined()
  })
})
