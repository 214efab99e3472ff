import { createHmac, randomUUID } from 'node:crypto'
import {
  AccessTokenError,
  bearerToken,
  createAccessTokenVerifier,
  MAX_TOKEN_LENGTH,
  secretKid,
} from '@bio/token-verifier'
import { exportSPKI, generateKeyPair, type JWTPayload, SignJWT, UnsecuredJWT } from 'jose'
import { describe, expect, it } from 'vitest'
import { createAccessTokenSigner, type SignerConfig } from '../src/tokens/access-token-signer.js'
import { TEST_SECRET } from './helper.js'

/**
 * The verifier package (@bio/token-verifier) and auth's signer against tokens crafted by another
 * library (jose). It lives here rather than beside the package because jose is a dev dependency of
 * the auth service only; the kid/typ/lifetime surface is in token-attacks.test.ts.
 */

const CONFIG = { issuer: 'bio-re-auth', audience: 'bio-re-api' }
const SIGNER: SignerConfig = {
  ...CONFIG,
  algorithm: 'HS256',
  secret: TEST_SECRET,
  privateKey: undefined,
  accessTtlSeconds: 900,
}
const KEY = new TextEncoder().encode(TEST_SECRET)
const verify = createAccessTokenVerifier({ ...CONFIG, signingSecret: TEST_SECRET })
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
  new SignJWT(claims).setProtectedHeader({ alg, typ: 'at+jwt' }).sign(key)

/** Signs header.payload with HMAC-SHA256 of the shared key, whatever the header says. */
const hmacToken = (header: object, payload: object, secret: string | Buffer = TEST_SECRET) => {
  const input = `${b64(header)}.${b64(payload)}`
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`
}

async function expectRejected(token: unknown, i18nKey = 'auth.token.invalid') {
  const caught = await verify(token as string).then(
    () => undefined,
    (err: unknown) => err,
  )
  expect(caught, 'the token was accepted').toBeInstanceOf(AccessTokenError)
  const error = caught as AccessTokenError
  expect(error.statusCode).toBe(401)
  expect(error.code).toBe('AUTH_UNAUTHORIZED')
  expect(error.i18nKey).toBe(i18nKey)
  expect(error.headers['www-authenticate']).toMatch(/^Bearer error="invalid_token"/)
}

describe('createAccessTokenVerifier: accepts', () => {
  it('a token from createAccessTokenSigner, returning its claims', async () => {
    const sign = createAccessTokenSigner(SIGNER)
    const userId = randomUUID()
    const sessionId = randomUUID()
    const { accessToken, expiresIn } = sign({ userId, sessionId })
    expect(expiresIn).toBe(900)
    const claims = await verify(accessToken)
    expect(claims).toMatchObject({ sub: userId, sid: sessionId, iss: CONFIG.issuer, aud: CONFIG.audience })
    expect(claims.exp - claims.iat).toBe(900)
    expect(Math.abs(claims.iat - nowS())).toBeLessThanOrEqual(2)
    expect(JSON.parse(Buffer.from(parts(accessToken)[0], 'base64url').toString())).toEqual({
      alg: 'HS256',
      typ: 'at+jwt',
      kid: secretKid(TEST_SECRET),
    })
  })

  it('a jose HS256 token with the right key and claims', async () => {
    const claims = goodClaims()
    expect(await verify(await hs256(claims))).toMatchObject({ sub: claims.sub, sid: claims.sid })
  })

  it('an audience array that contains our audience', async () => {
    expect(
      (await verify(await hs256({ ...goodClaims(), aud: ['other-api', CONFIG.audience] }))).sub,
    ).toBeTruthy()
  })

  it('a token expired by less than the 5 s clock tolerance', async () => {
    expect(
      (await verify(await hs256({ ...goodClaims(), iat: nowS() - 900, exp: nowS() - 2 }))).sub,
    ).toBeTruthy()
  })

  it('a token of exactly MAX_TOKEN_LENGTH characters', async () => {
    const base = await hs256({ ...goodClaims(), pad: '' })
    const padded = await hs256({
      ...goodClaims(),
      pad: 'p'.repeat(Math.floor(((MAX_TOKEN_LENGTH - base.length) * 3) / 4)),
    })
    expect(padded.length).toBeLessThanOrEqual(MAX_TOKEN_LENGTH)
    expect(padded.length).toBeGreaterThan(MAX_TOKEN_LENGTH - 4)
    expect((await verify(padded)).sub).toBeTruthy()
  })
})

describe('createAccessTokenVerifier: rejects', () => {
  it('alg none (unsigned), with or without a signature part', async () => {
    const unsigned = new UnsecuredJWT(goodClaims()).encode()
    await expectRejected(unsigned)
    const [header, payload] = parts(unsigned)
    await expectRejected(
      `${header}.${payload}.${createHmac('sha256', TEST_SECRET).update(`${header}.${payload}`).digest('base64url')}`,
    )
    for (const alg of ['none', 'None', 'NONE'])
      await expectRejected(`${b64({ alg, typ: 'at+jwt' })}.${b64(goodClaims())}.`)
  })

  it('HS256 signed with another key', async () => {
    await expectRejected(
      await hs256(goodClaims(), new TextEncoder().encode('a-completely-different-secret-of-32+bytes')),
    )
  })

  it('HS384 and HS512 even with the right key (the algorithm is pinned)', async () => {
    await expectRejected(await hs256(goodClaims(), KEY, 'HS384'))
    await expectRejected(await hs256(goodClaims(), KEY, 'HS512'))
  })

  it.each(['RS256', 'PS256', 'ES256', 'EdDSA'])('%s tokens from a generated key pair', async (alg) => {
    const { privateKey } = await generateKeyPair(alg)
    await expectRejected(
      await new SignJWT(goodClaims()).setProtectedHeader({ alg, typ: 'at+jwt' }).sign(privateKey),
    )
  })

  it('algorithm confusion: an RS256/ES256 header over an HMAC made with the shared key', async () => {
    await expectRejected(hmacToken({ alg: 'RS256', typ: 'at+jwt' }, goodClaims()))
    await expectRejected(hmacToken({ alg: 'ES256', typ: 'at+jwt' }, goodClaims()))
  })

  it('algorithm confusion: HS256 keyed with a public key PEM', async () => {
    const { publicKey } = await generateKeyPair('RS256', { extractable: true })
    const pem = await exportSPKI(publicKey)
    await expectRejected(hmacToken({ alg: 'HS256', typ: 'at+jwt' }, goodClaims(), pem))
  })

  it('an expired token (beyond the tolerance) with auth.token.expired', async () => {
    await expectRejected(
      await hs256({ ...goodClaims(), iat: nowS() - 3600, exp: nowS() - 60 }),
      'auth.token.expired',
    )
  })

  it('a token from the signer with a clock an hour behind (expired)', async () => {
    const sign = createAccessTokenSigner(SIGNER, () => Date.now() - 3_600_000)
    await expectRejected(
      sign({ userId: randomUUID(), sessionId: randomUUID() }).accessToken,
      'auth.token.expired',
    )
  })

  it('nbf in the future', async () => {
    await expectRejected(await hs256({ ...goodClaims(), nbf: nowS() + 600 }))
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
    await expectRejected(hmacToken({ alg: 'HS256', typ: 'at+jwt' }, { ...goodClaims(), ...override }))
  })

  it.each(['sub', 'sid', 'iat', 'exp', 'iss', 'aud'])('a token without %s', async (claim) => {
    const claims = goodClaims()
    delete claims[claim]
    await expectRejected(hmacToken({ alg: 'HS256', typ: 'at+jwt' }, claims))
  })

  it('a tampered payload (signature of the original kept)', async () => {
    const [header, , signature] = parts(await hs256(goodClaims()))
    await expectRejected(`${header}.${b64(goodClaims())}.${signature}`)
  })

  it('a tampered header (signature of the original kept)', async () => {
    const [, payload, signature] = parts(await hs256(goodClaims()))
    await expectRejected(`${b64({ alg: 'HS256', typ: 'at+jwt', kid: 'other' })}.${payload}.${signature}`)
    await expectRejected(`${b64({ alg: 'HS256' })}.${payload}.${signature}`)
  })

  it('a truncated, stripped or extended signature', async () => {
    const token = await hs256(goodClaims())
    const [header, payload, signature] = parts(token)
    await expectRejected(`${header}.${payload}.${signature.slice(0, -2)}`)
    await expectRejected(`${header}.${payload}.`)
    await expectRejected(`${header}.${payload}`)
    await expectRejected(`${token}.extra`)
  })

  it('a correctly signed token longer than MAX_TOKEN_LENGTH', async () => {
    const long = await hs256({ ...goodClaims(), pad: 'p'.repeat(MAX_TOKEN_LENGTH) })
    expect(long.length).toBeGreaterThan(MAX_TOKEN_LENGTH)
    await expectRejected(long)
  })

  it('garbage, empty and non-string input', async () => {
    for (const token of ['', 'abc', 'a.b.c', '...', 'eyJhbGciOiJIUzI1NiJ9.e30.', undefined, null, 42]) {
      await expectRejected(token)
    }
  })

  it('a token signed for another issuer configuration', async () => {
    const sign = createAccessTokenSigner({ ...SIGNER, issuer: 'someone-else' })
    await expectRejected(sign({ userId: randomUUID(), sessionId: randomUUID() }).accessToken)
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
