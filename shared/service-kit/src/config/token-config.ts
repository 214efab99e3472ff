import {
  type AccessTokenVerifierOptions,
  type Algorithm,
  jwksUrlProblem,
  KeyFormatError,
  MIN_SECRET_LENGTH,
  publicKeys,
} from '@bio/token-verifier'
import type { CommonEnv } from './common-env.js'
import { invalid, splitList } from './load-env.js'

/** How access tokens are verified (both services) and, on auth, signed. */
export interface TokenConfig {
  algorithm: Algorithm
  issuer: string
  audience: string
  /** HS256 mode: the key auth signs with (`JWT_SECRET`); undefined in an asymmetric mode. */
  secret: string | undefined
  /** Shared secrets that verify but never sign (`JWT_VERIFY_SECRETS`). */
  verifySecrets: string[]
  /** SPKI PEM public keys that verify. */
  publicKeys: string[]
  /** A JWKS to fetch public keys from (verifiers only). */
  jwksUrl: string | undefined
  /** Outside production `jwksUrl` may be plain http: to any host; in production only to loopback. */
  jwksAllowInsecureHttp: boolean
  maxLifetimeSeconds: number
}

/** Checks a PEM list variable and returns its blocks; names the variable, never echoes a key. */
export function publicKeysFrom(name: string, raw: string): string[] {
  try {
    const keys = publicKeys(raw)
    if (raw.trim() !== '' && keys.length === 0) throw new KeyFormatError('no PEM "PUBLIC KEY" block found')
    return keys.map((k) => k.key)
  } catch (err) {
    throw invalid(name, err instanceof KeyFormatError ? err.message : 'could not be read')
  }
}

/** The token section of the environment; `extra` is what a service adds (public keys, JWKS URL). */
export function tokenConfigFrom(
  env: CommonEnv,
  extra: { publicKeys?: string[]; jwksUrl?: string | undefined } = {},
): TokenConfig {
  if (env.JWT_ALGORITHM === 'HS256' && !env.JWT_SECRET)
    throw invalid('JWT_SECRET', `is required when JWT_ALGORITHM=HS256 (at least ${MIN_SECRET_LENGTH} bytes)`)
  // A tampered JWKS fetch hands out keys that forge every token: https: in production.
  const jwksAllowInsecureHttp = env.NODE_ENV !== 'production'
  const jwksProblem =
    extra.jwksUrl === undefined
      ? undefined
      : jwksUrlProblem(extra.jwksUrl, { allowInsecureHttp: jwksAllowInsecureHttp })
  if (jwksProblem) throw invalid('JWT_JWKS_URL', jwksProblem)
  const verifySecrets = splitList(env.JWT_VERIFY_SECRETS)
  if (verifySecrets.some((s) => s.length < MIN_SECRET_LENGTH))
    throw invalid('JWT_VERIFY_SECRETS', `every key must be at least ${MIN_SECRET_LENGTH} bytes`)
  return {
    algorithm: env.JWT_ALGORITHM,
    issuer: env.JWT_ISSUER,
    audience: env.JWT_AUDIENCE,
    // In an asymmetric mode the shared secret plays no part; only JWT_VERIFY_SECRETS still verify.
    secret: env.JWT_ALGORITHM === 'HS256' ? env.JWT_SECRET : undefined,
    verifySecrets,
    publicKeys: extra.publicKeys ?? [],
    jwksUrl: extra.jwksUrl,
    jwksAllowInsecureHttp,
    maxLifetimeSeconds: env.JWT_MAX_LIFETIME_S,
  }
}

/** The options of `createAccessTokenVerifier` / `accessTokenPlugin` for a token configuration. */
export function verifierOptions(
  tokens: TokenConfig,
  jwks: Partial<NonNullable<AccessTokenVerifierOptions['jwks']>> = {},
): AccessTokenVerifierOptions {
  return {
    issuer: tokens.issuer,
    audience: tokens.audience,
    signingSecret: tokens.secret,
    verifySecrets: tokens.verifySecrets,
    publicKeys: tokens.publicKeys,
    jwks: tokens.jwksUrl
      ? { ...jwks, url: tokens.jwksUrl, allowInsecureHttp: tokens.jwksAllowInsecureHttp }
      : undefined,
    jwksAlgorithms: tokens.algorithm === 'HS256' ? ['EdDSA', 'ES256'] : [tokens.algorithm],
    maxLifetimeSeconds: tokens.maxLifetimeSeconds,
  }
}
