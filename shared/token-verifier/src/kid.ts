import { createHash, type KeyObject } from 'node:crypto'

/**
 * The key id of a shared secret: the first 16 characters of base64url(SHA-256(secret)). Derived,
 * so no one configures it, and any stack can compute it; 96 bits say nothing usable about the key.
 */
export const secretKid = (secret: string): string =>
  createHash('sha256').update(secret, 'utf8').digest('base64url').slice(0, 16)

/** The key id of a public key: its RFC 7638 JWK thumbprint (SHA-256, base64url). */
export function publicKeyKid(key: KeyObject): string {
  const jwk = key.export({ format: 'jwk' })
  // RFC 7638 §3.2: the required members only, in lexicographic order, no whitespace.
  const members =
    jwk.kty === 'OKP'
      ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x }
      : { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y }
  return createHash('sha256').update(JSON.stringify(members)).digest('base64url')
}
