import { generateKeyPairSync, randomUUID } from 'node:crypto'
import { accessClaims, hmacToken, keyToken, type TokenAttackContext } from '@bio/service-kit/testing'
import { describe, expect, it } from 'vitest'
import {
  AccessTokenError,
  createAccessTokenVerifier,
  DEFAULT_MAX_LIFETIME_S,
  publicKeyKid,
  secretKid,
} from '../src/index.js'

const SECRET = 'package-test-secret-of-at-least-32-bytes!'
const NEXT = 'the-next-secret-of-at-least-32-bytes-long!!'
const ed = generateKeyPairSync('ed25519')
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' })
const pem = (k: typeof ed.publicKey) => k.export({ format: 'pem', type: 'spki' }).toString()
const ctx: TokenAttackContext = {
  secret: SECRET,
  issuer: 'bio-re-auth',
  audience: 'bio-re-api',
  subject: randomUUID(),
  edKeys: ed,
}
const nowS = () => Math.floor(Date.now() / 1000)
const base = { issuer: ctx.issuer, audience: ctx.audience }
const hs = (secret: string, claims = accessClaims(ctx), header: Record<string, unknown> = {}) =>
  hmacToken({ alg: 'HS256', typ: 'at+jwt', kid: secretKid(secret), ...header }, claims, secret)

async function refusal(promise: Promise<unknown>): Promise<AccessTokenError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(err, 'the token was accepted').toBeInstanceOf(AccessTokenError)
  return err as AccessTokenError
}

describe('key ids', () => {
  it('the kid of a secret is the first 16 characters of base64url(SHA-256(secret))', () => {
    // Computed independently: printf %s aaa…a (32) | openssl dgst -sha256 -binary | base64 | tr '+/' '-_'
    expect(secretKid('a'.repeat(32))).toBe('O6P19DuSYCaDwZru')
    expect(secretKid(SECRET)).toMatch(/^[A-Za-z0-9_-]{16}$/)
  })
})

describe('createAccessTokenVerifier', () => {
  it('accepts HS256 with the signing key and with a verify-only key, each chosen by kid', async () => {
    const verify = createAccessTokenVerifier({ ...base, signingSecret: SECRET, verifySecrets: [NEXT] })
    expect((await verify(hs(SECRET))).sub).toBe(ctx.subject)
    expect((await verify(hs(NEXT))).sub).toBe(ctx.subject)
  })

  it('tries a token without kid against the signing key only', async () => {
    const verify = createAccessTokenVerifier({ ...base, signingSecret: SECRET, verifySecrets: [NEXT] })
    const noKid = (secret: string) => hmacToken({ alg: 'HS256', typ: 'at+jwt' }, accessClaims(ctx), secret)
    expect((await verify(noKid(SECRET))).sub).toBe(ctx.subject)
    await refusal(verify(noKid(NEXT)))
    // Without a signing secret (an asymmetric verifier), a kid-less token has no key at all.
    await refusal(createAccessTokenVerifier({ ...base, verifySecrets: [SECRET] })(noKid(SECRET)))
  })

  it('accepts EdDSA and ES256 tokens with their public keys, each pinned to its own algorithm', async () => {
    const verify = createAccessTokenVerifier({ ...base, publicKeys: [pem(ed.publicKey) + pem(ec.publicKey)] })
    const edToken = keyToken(
      { alg: 'EdDSA', typ: 'at+jwt', kid: publicKeyKid(ed.publicKey) },
      accessClaims(ctx),
      ed.privateKey,
    )
    const ecToken = keyToken(
      { alg: 'ES256', typ: 'at+jwt', kid: publicKeyKid(ec.publicKey) },
      accessClaims(ctx),
      ec.privateKey,
    )
    expect((await verify(edToken)).sub).toBe(ctx.subject)
    expect((await verify(ecToken)).sub).toBe(ctx.subject)
    // The EC key's kid on an EdDSA token: the kid names a key of another algorithm.
    const swapped = keyToken(
      { alg: 'EdDSA', typ: 'at+jwt', kid: publicKeyKid(ec.publicKey) },
      accessClaims(ctx),
      ed.privateKey,
    )
    await refusal(verify(swapped))
    // No shared secret configured: HS256 is not even an allowed algorithm.
    await refusal(verify(hmacToken({ alg: 'HS256', typ: 'at+jwt' }, accessClaims(ctx), pem(ed.publicKey))))
  })

  it('holds the lifetime to maxLifetimeSeconds (default 1 h), to the second', async () => {
    const verify = createAccessTokenVerifier({ ...base, signingSecret: SECRET })
    const iat = nowS()
    expect(DEFAULT_MAX_LIFETIME_S).toBe(3600)
    expect((await verify(hs(SECRET, accessClaims(ctx, { iat, exp: iat + 3600 })))).exp).toBe(iat + 3600)
    await refusal(verify(hs(SECRET, accessClaims(ctx, { iat, exp: iat + 3601 }))))
    const short = createAccessTokenVerifier({ ...base, signingSecret: SECRET, maxLifetimeSeconds: 900 })
    await refusal(short(hs(SECRET, accessClaims(ctx, { iat, exp: iat + 901 }))))
  })

  it('refuses an iat beyond the clock tolerance in the future, accepts one within it', async () => {
    const verify = createAccessTokenVerifier({ ...base, signingSecret: SECRET })
    const at = (iat: number) => hs(SECRET, accessClaims(ctx, { iat, exp: iat + 600 }))
    expect((await verify(at(nowS() + 3))).sub).toBe(ctx.subject)
    await refusal(verify(at(nowS() + 30)))
  })

  it('accepts typ at+jwt in any case and with the application/ prefix, nothing else', async () => {
    const verify = createAccessTokenVerifier({ ...base, signingSecret: SECRET })
    for (const typ of ['at+jwt', 'AT+JWT', 'application/at+jwt'])
      expect((await verify(hs(SECRET, accessClaims(ctx), { typ }))).sub).toBe(ctx.subject)
    for (const typ of ['JWT', 'jwt', 'at+jwt2', 'id_token+jwt'])
      await refusal(verify(hs(SECRET, accessClaims(ctx), { typ })))
  })

  it('gives expired its own i18n key, every other failure one generic message', async () => {
    const verify = createAccessTokenVerifier({ ...base, signingSecret: SECRET })
    const expired = await refusal(
      verify(hs(SECRET, accessClaims(ctx, { iat: nowS() - 900, exp: nowS() - 60 }))),
    )
    expect([expired.statusCode, expired.code, expired.i18nKey]).toEqual([
      401,
      'AUTH_UNAUTHORIZED',
      'auth.token.expired',
    ])
    const invalid = await refusal(verify(hs(NEXT)))
    expect(invalid.message).toBe('Invalid access token')
    expect(invalid.headers['www-authenticate']).toBe(
      'Bearer error="invalid_token", error_description="Invalid access token"',
    )
    expect(invalid.toEnvelope('req-1')).toEqual({
      success: false,
      error: {
        code: 'AUTH_UNAUTHORIZED',
        message: 'Invalid access token',
        i18nKey: 'auth.token.invalid',
        correlationId: 'req-1',
      },
    })
  })

  it('refuses to start without any key', () => {
    expect(() => createAccessTokenVerifier(base)).toThrow(/at least one key/)
    expect(() => createAccessTokenVerifier({ ...base, signingSecret: 'short' })).toThrow(/32/)
  })
})

describe('canonical base64url', () => {
  it('accepts exactly the spelling Buffer produces, for every length and last character', async () => {
    const verify = createAccessTokenVerifier({ ...base, signingSecret: SECRET })
    const token = hs(SECRET)
    const [h, p] = token.split('.') as [string, string]
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
    // For a 43-character HS256 signature, only the spelling of the real bytes verifies.
    const sig = token.split('.')[2]!
    let accepted = 0
    for (const c of alphabet) {
      const candidate = `${h}.${p}.${sig.slice(0, -1)}${c}`
      const canonicalSpelling =
        Buffer.from(sig.slice(0, -1) + c, 'base64url').toString('base64url') === sig.slice(0, -1) + c
      const ok = await verify(candidate).then(
        () => true,
        () => false,
      )
      if (ok) accepted += 1
      if (ok) expect(canonicalSpelling).toBe(true)
    }
    expect(accepted).toBe(1)
  })
})
