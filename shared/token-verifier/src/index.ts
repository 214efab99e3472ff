export { bearerToken } from './bearer.js'
export { ACCESS_TOKEN_TYPE, AccessTokenClaims } from './claims.js'
export {
  AccessTokenError,
  type AccessTokenFailure,
  isAccessTokenError,
} from './errors.js'
export { accessTokenPlugin } from './fastify-plugin.js'
export type { JwksCache, JwksCacheOptions } from './jwks-cache.js'
export { JsonWebKeySet, PublicJwkSchema } from './jwks-schema.js'
export { isLoopbackUrl, jwksUrlProblem } from './jwks-url.js'
export type { KeySet, KeySources } from './key-set.js'
export {
  ALGORITHMS,
  type Algorithm,
  type AsymmetricAlgorithm,
  algorithmOfKey,
  KeyFormatError,
  MIN_SECRET_LENGTH,
  type PublicJwk,
  pemBlocks,
  privateKey,
  publicKey,
  publicKeys,
  secretKey,
  toPublicJwk,
  type VerificationKey,
} from './keys.js'
export { publicKeyKid, secretKid } from './kid.js'
export {
  type AccessTokenVerifierOptions,
  DEFAULT_CLOCK_TOLERANCE_S,
  DEFAULT_MAX_LIFETIME_S,
  MAX_TOKEN_LENGTH,
} from './rules.js'
export { createAccessTokenVerifier, type VerifyAccessToken } from './verifier.js'
