import { type JsonWebKeySet, publicKey, toPublicJwk } from '@bio/token-verifier'
import type { AuthConfig } from '../config.js'

/**
 * auth's JWKS: the public half of the signing key and the verify-only public keys. Empty in HS256
 * mode: a shared secret is never published.
 */
export function jwksOf(tokens: AuthConfig['tokens']): JsonWebKeySet {
  const keys = tokens.publicKeys.map((pem) => toPublicJwk(publicKey(pem)))
  return { keys: [...new Map(keys.map((k) => [k.kid, k])).values()] }
}
