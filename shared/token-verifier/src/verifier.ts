import { createVerifier, TokenError } from 'fast-jwt'
import type { AccessTokenClaims } from './claims.js'
import { AccessTokenError } from './errors.js'
import type { KeySet } from './key-set.js'
import type { Algorithm } from './keys.js'
import { type AccessTokenVerifierOptions, verificationRules } from './rules.js'

export interface VerifyAccessToken {
  /** The claims of a valid access token; rejects with an AccessTokenError (401) otherwise. */
  (token: string): Promise<AccessTokenClaims>
  /** Resolves once the JWKS, if one is configured, has been fetched the first time. */
  ready(): Promise<void>
  readonly keySet: KeySet
}

/** Maps a fast-jwt failure to our error: only expiry is told apart, nothing of its text goes out. */
export const fromFastJwtError = (err: unknown): AccessTokenError =>
  err instanceof AccessTokenError
    ? err
    : new AccessTokenError(
        err instanceof TokenError && err.code === TokenError.codes.expired ? 'expired' : 'invalid',
        { cause: err },
      )

/**
 * Verifies access tokens locally, for any Node service: the key is chosen by `kid` (a token without
 * one is tried against the signing secret only), the algorithm is the key's own, `typ` must be
 * `at+jwt`, issuer, audience, expiry, `iat` and lifetime are checked.
 */
export function createAccessTokenVerifier(options: AccessTokenVerifierOptions): VerifyAccessToken {
  const rules = verificationRules(options)
  // One fast-jwt verifier per key, each pinned to that key's algorithm.
  const verifiers = new Map<string, (token: string) => unknown>()
  const verifierFor = (kid: string, key: string, alg: Algorithm) => {
    const id = `${alg}:${kid}:${key}`
    let verify = verifiers.get(id)
    if (!verify) {
      verify = createVerifier({ ...rules.fastJwt, key, algorithms: [alg] }) as (token: string) => unknown
      verifiers.set(id, verify)
    }
    return verify
  }
  const verifyAccessToken = async (token: string): Promise<AccessTokenClaims> => {
    const header = rules.inspect(token)
    const key = await rules.keySet.select(header)
    if (!key) throw new AccessTokenError('invalid')
    let payload: unknown
    try {
      payload = verifierFor(key.kid, key.key, key.alg)(token)
    } catch (err) {
      throw fromFastJwtError(err)
    }
    return rules.claims(payload)
  }
  return Object.assign(verifyAccessToken, { ready: rules.keySet.ready, keySet: rules.keySet })
}
