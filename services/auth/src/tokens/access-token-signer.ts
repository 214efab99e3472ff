import { ACCESS_TOKEN_TYPE, privateKey, secretKid } from '@bio/token-verifier'
import { createSigner } from 'fast-jwt'
import type { AuthConfig } from '../config.js'

/** What signing reads of auth's token configuration. */
export type SignerConfig = Pick<
  AuthConfig['tokens'],
  'algorithm' | 'issuer' | 'audience' | 'accessTtlSeconds'
> &
  Partial<Pick<AuthConfig['tokens'], 'secret' | 'privateKey'>>

export type AccessTokenSigner = (subject: { userId: string; sessionId: string }) => {
  accessToken: string
  expiresIn: number
}

/** The key auth signs with: the shared secret (HS256) or the private key (EdDSA / ES256), with its kid. */
export function signingKey(tokens: Pick<SignerConfig, 'algorithm' | 'secret' | 'privateKey'>): {
  key: string
  kid: string
} {
  if (tokens.algorithm === 'HS256') {
    if (!tokens.secret) throw new Error('HS256 signing needs JWT_SECRET')
    return { key: tokens.secret, kid: secretKid(tokens.secret) }
  }
  if (!tokens.privateKey) throw new Error(`${tokens.algorithm} signing needs JWT_PRIVATE_KEY`)
  const { key, verification } = privateKey(tokens.privateKey)
  return { key: key.export({ format: 'pem', type: 'pkcs8' }).toString(), kid: verification.kid }
}

/**
 * Signs access tokens: `kid` and `typ: at+jwt` (RFC 9068) in the header, `sub`, `sid`, `iss`,
 * `aud`, `iat`, `exp` in the payload. Only the auth service holds one; `now` is injectable for tests.
 */
export function createAccessTokenSigner(
  tokens: SignerConfig,
  now: () => number = Date.now,
): AccessTokenSigner {
  const { key, kid } = signingKey(tokens)
  const sign = createSigner({
    key,
    kid,
    header: { alg: tokens.algorithm, typ: ACCESS_TOKEN_TYPE },
    algorithm: tokens.algorithm,
    iss: tokens.issuer,
    aud: tokens.audience,
    expiresIn: tokens.accessTtlSeconds * 1000,
  })
  return ({ userId, sessionId }) => {
    // fast-jwt derives `exp` from this `iat` and `expiresIn`, so the injected clock drives both.
    const accessToken = sign({ sub: userId, sid: sessionId, iat: Math.floor(now() / 1000) })
    return { accessToken, expiresIn: tokens.accessTtlSeconds }
  }
}
