import type { VerifierOptions } from 'fast-jwt'
import { ACCESS_TOKEN_TYPE, type AccessTokenClaims, acceptableClaims, REQUIRED_CLAIMS } from './claims.js'
import { AccessTokenError } from './errors.js'
import { createKeySet, type KeySet, type KeySources } from './key-set.js'
import type { Algorithm } from './keys.js'

/** Anything longer is refused before it is parsed. Ours are about 400 bytes. */
export const MAX_TOKEN_LENGTH = 2048
/** Default of `maxLifetimeSeconds`: auth's default access-token TTL (900 s) with margin. */
export const DEFAULT_MAX_LIFETIME_S = 3600
export const DEFAULT_CLOCK_TOLERANCE_S = 5

export interface AccessTokenVerifierOptions extends KeySources {
  /** The `iss` auth writes (`JWT_ISSUER`). */
  issuer: string
  /** The `aud` auth writes (`JWT_AUDIENCE`); an array claim must contain it. */
  audience: string
  /** Algorithms a JWKS key may have; default EdDSA and ES256. */
  jwksAlgorithms?: readonly Algorithm[]
  /** The longest `exp - iat` accepted (default 3600 s). */
  maxLifetimeSeconds?: number
  /** Allowed skew for `exp`, `nbf` and `iat` (default 5 s). */
  clockToleranceSeconds?: number
  /** Verified tokens remembered until their `exp` (default 10 000; 0 disables). */
  cacheSize?: number
}

/** Everything a verification checks, shared by the plain function and the Fastify plugin. */
export interface VerificationRules {
  keySet: KeySet
  /** fast-jwt options without `key`: algorithms pinned, iss/aud/typ/required claims checked. */
  fastJwt: Partial<VerifierOptions>
  /** Cheap checks before any parsing: length, canonical base64url parts, no `crit`. Returns the header. */
  inspect(token: unknown): Record<string, unknown>
  /** The claims after the signature check: types, `iat` not in the future, lifetime. */
  claims(payload: unknown): AccessTokenClaims
}

const B64URL = /^[A-Za-z0-9_-]+$/
/** Last characters whose unused low bits are zero, for 2 and 3 characters past a 4-group. */
const LAST_OF_2 = new Set('AQgw')
const LAST_OF_3 = new Set('AEIMQUYcgkosw048')
/**
 * Exactly one spelling per value (RFC 7515 §2, RFC 4648 §3.5): no padding, no `+/`, and no stray
 * bits in the last character, checked without decoding.
 */
function canonical(part: string): boolean {
  if (!B64URL.test(part)) return false
  const rest = part.length % 4
  if (rest === 1) return false
  const last = part[part.length - 1] as string
  return rest === 0 || (rest === 2 ? LAST_OF_2 : LAST_OF_3).has(last)
}

export function verificationRules(options: AccessTokenVerifierOptions): VerificationRules {
  const keySet = createKeySet(options, options.jwksAlgorithms ?? ['EdDSA', 'ES256'])
  const clockToleranceS = options.clockToleranceSeconds ?? DEFAULT_CLOCK_TOLERANCE_S
  const maxLifetimeS = options.maxLifetimeSeconds ?? DEFAULT_MAX_LIFETIME_S
  const cacheSize = options.cacheSize ?? 10_000
  return {
    keySet,
    fastJwt: {
      algorithms: [...keySet.algorithms],
      allowedIss: options.issuer,
      allowedAud: options.audience,
      requiredClaims: REQUIRED_CLAIMS,
      checkTyp: ACCESS_TOKEN_TYPE,
      clockTolerance: clockToleranceS * 1000,
      cache: cacheSize > 0 ? cacheSize : false,
      cacheTTL: 60_000,
    },
    inspect(token) {
      if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH)
        throw new AccessTokenError('invalid')
      const parts = token.split('.')
      if (parts.length !== 3 || !parts.every(canonical)) throw new AccessTokenError('invalid')
      let header: unknown
      try {
        header = JSON.parse(Buffer.from(parts[0] as string, 'base64url').toString('utf8'))
      } catch (cause) {
        throw new AccessTokenError('invalid', { cause })
      }
      if (typeof header !== 'object' || header === null || Array.isArray(header))
        throw new AccessTokenError('invalid')
      // RFC 7515 §4.1.11: extensions a recipient does not understand must be refused, and we
      // understand none; fast-jwt lets a falsy `crit` through, so any `crit` at all is refused.
      if ('crit' in header) throw new AccessTokenError('invalid')
      return header as Record<string, unknown>
    },
    claims(payload) {
      if (!acceptableClaims(payload, { nowMs: Date.now(), clockToleranceS, maxLifetimeS }))
        throw new AccessTokenError('invalid')
      return payload
    },
  }
}
