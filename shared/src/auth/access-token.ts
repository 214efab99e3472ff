import { type Static, Type } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { createSigner, createVerifier, TokenError } from 'fast-jwt'
import type { TokenConfig } from '../config/common-env.js'
import { AppError } from '../errors/app-error.js'
import { CommonErrors } from '../errors/catalogue.js'
import { Uuid } from '../schemas/formats.js'

/** Claims of an access token. `sub` is the user id, `sid` the refresh session it was issued for. */
export const AccessTokenClaims = Type.Object({
  sub: Uuid(),
  sid: Uuid(),
  iat: Type.Integer(),
  exp: Type.Integer(),
  iss: Type.String(),
  aud: Type.Union([Type.String(), Type.Array(Type.String())]),
})
export type AccessTokenClaims = Static<typeof AccessTokenClaims>

export const ACCESS_TOKEN_ALGORITHM = 'HS256'
/** Anything longer is refused before it is parsed. Ours are about 300 bytes. */
export const MAX_TOKEN_LENGTH = 2048

export type AccessTokenSigner = (subject: { userId: string; sessionId: string }) => {
  accessToken: string
  expiresIn: number
}

/** Signs access tokens. Only the auth service holds one; `now` is injectable for tests. */
export function createAccessTokenSigner(
  config: TokenConfig & { ttlSeconds: number },
  now: () => number = Date.now,
): AccessTokenSigner {
  const sign = createSigner({
    key: config.secret,
    algorithm: ACCESS_TOKEN_ALGORITHM,
    iss: config.issuer,
    aud: config.audience,
    expiresIn: config.ttlSeconds * 1000,
  })
  return ({ userId, sessionId }) => {
    // fast-jwt derives `exp` from this `iat` and `expiresIn`, so the injected clock drives both.
    const accessToken = sign({ sub: userId, sid: sessionId, iat: Math.floor(now() / 1000) })
    return { accessToken, expiresIn: config.ttlSeconds }
  }
}

const unauthorized = (i18nKey: string, message: string) =>
  new AppError(
    { ...CommonErrors.AUTH_UNAUTHORIZED, i18nKey, message },
    { headers: { 'www-authenticate': 'Bearer error="invalid_token"' } },
  )

export type VerifyAccessToken = (token: string) => AccessTokenClaims

/**
 * A plain function that verifies an access token locally: HS256 only (the algorithm is pinned,
 * so `none` and RS/ES confusion are refused), issuer and audience checked, `exp` required.
 * Throws AUTH_UNAUTHORIZED (an AppError) on any failure. Any service holding the shared key can use it.
 */
export function createAccessTokenVerifier(config: TokenConfig): VerifyAccessToken {
  const verify = createVerifier({
    key: config.secret,
    algorithms: [ACCESS_TOKEN_ALGORITHM],
    allowedIss: config.issuer,
    allowedAud: config.audience,
    requiredClaims: ['sub', 'sid', 'iat', 'exp', 'iss', 'aud'],
    clockTolerance: 5_000,
    cache: 10_000,
    cacheTTL: 60_000,
  })
  return (token) => {
    if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH) {
      throw unauthorized('auth.token.invalid', 'Invalid access token')
    }
    let claims: unknown
    try {
      claims = verify(token)
    } catch (err) {
      if (err instanceof TokenError && err.code === TokenError.codes.expired) {
        throw unauthorized('auth.token.expired', 'Access token expired')
      }
      throw unauthorized('auth.token.invalid', 'Invalid access token')
    }
    if (!Value.Check(AccessTokenClaims, claims))
      throw unauthorized('auth.token.invalid', 'Invalid access token')
    return claims
  }
}

/** Extracts the token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined
  const m = /^Bearer[ ]+([A-Za-z0-9\-_.~+/]+=*)\s*$/i.exec(header)
  return m?.[1]
}

export const missingToken = () => unauthorized('auth.token.missing', 'Missing bearer access token')
