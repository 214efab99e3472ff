import { type Static, Type } from '@sinclair/typebox'
import { TypeCompiler } from '@sinclair/typebox/compiler'

const UUID = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$'

/** Claims of an access token. `sub` is the user id, `sid` the refresh session it was issued for. */
export const AccessTokenClaims = Type.Object({
  sub: Type.String({ pattern: UUID, description: 'user id' }),
  sid: Type.String({ pattern: UUID, description: 'refresh session id' }),
  iat: Type.Integer(),
  exp: Type.Integer(),
  iss: Type.String(),
  aud: Type.Union([Type.String(), Type.Array(Type.String())]),
})
export type AccessTokenClaims = Static<typeof AccessTokenClaims>

/** The JOSE `typ` of an access token (RFC 9068 §2.1). */
export const ACCESS_TOKEN_TYPE = 'at+jwt'
export const REQUIRED_CLAIMS = ['sub', 'sid', 'iat', 'exp', 'iss', 'aud']

const check = TypeCompiler.Compile(AccessTokenClaims)

/**
 * What the signature check leaves to us: the claim types, an `iat` no further in the future than
 * the clock tolerance, and a lifetime (`exp - iat`) no longer than auth issues.
 */
export function acceptableClaims(
  payload: unknown,
  limits: { nowMs: number; clockToleranceS: number; maxLifetimeS: number },
): payload is AccessTokenClaims {
  if (!check.Check(payload)) return false
  if (payload.iat > limits.nowMs / 1000 + limits.clockToleranceS) return false
  return payload.exp - payload.iat <= limits.maxLifetimeS
}
