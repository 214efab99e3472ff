import { createPrivateKey, createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto'
import { publicKeyKid, secretKid } from './kid.js'

export const ALGORITHMS = ['HS256', 'EdDSA', 'ES256'] as const
export type Algorithm = (typeof ALGORITHMS)[number]
export type AsymmetricAlgorithm = Exclude<Algorithm, 'HS256'>

/** A shared secret must be at least this long (RFC 7518 §3.2: a key as long as the hash). */
export const MIN_SECRET_LENGTH = 32

/** A key that verifies: its id, the one algorithm it may be used with, and fast-jwt's form of it. */
export interface VerificationKey {
  kid: string
  alg: Algorithm
  /** The secret itself (HS256) or a SPKI PEM public key. */
  key: string
}

/** One entry of a JWKS (RFC 7517): public keys only. */
export interface PublicJwk {
  kty: string
  crv: string
  x: string
  y?: string
  kid: string
  alg: AsymmetricAlgorithm
  use: 'sig'
}

export class KeyFormatError extends Error {
  override name = 'KeyFormatError'
}

/** The algorithm a key pair is made for: Ed25519 → EdDSA, EC P-256 → ES256; anything else is refused. */
export function algorithmOfKey(key: KeyObject): AsymmetricAlgorithm {
  if (key.asymmetricKeyType === 'ed25519') return 'EdDSA'
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ES256'
  throw new KeyFormatError(
    `unsupported key type ${key.asymmetricKeyType ?? key.type}: use Ed25519 (EdDSA) or EC P-256 (ES256)`,
  )
}

const PEM_BLOCK = /-----BEGIN ([A-Z ]+)-----[\s\S]+?-----END \1-----/g

/** The PEM blocks in a text; `\n` written as two characters (one-line env files) counts as a newline. */
export function pemBlocks(text: string): string[] {
  return [...text.replace(/\\n/g, '\n').matchAll(PEM_BLOCK)].map((m) => m[0])
}

export function secretKey(secret: string): VerificationKey {
  if (secret.length < MIN_SECRET_LENGTH)
    throw new KeyFormatError(`a shared secret must be at least ${MIN_SECRET_LENGTH} characters`)
  return { kid: secretKid(secret), alg: 'HS256', key: secret }
}

function fromPublicKeyObject(key: KeyObject): VerificationKey {
  return {
    kid: publicKeyKid(key),
    alg: algorithmOfKey(key),
    key: key.export({ format: 'pem', type: 'spki' }).toString(),
  }
}

/** A SPKI PEM public key ("BEGIN PUBLIC KEY"). A private or certificate PEM is refused. */
export function publicKey(pem: string): VerificationKey {
  if (!/^-----BEGIN PUBLIC KEY-----/.test(pem.trim()))
    throw new KeyFormatError('a public key must be a PEM "PUBLIC KEY" (SPKI) block')
  let key: KeyObject
  try {
    key = createPublicKey(pem)
  } catch {
    throw new KeyFormatError('a public key PEM could not be parsed')
  }
  return fromPublicKeyObject(key)
}

/** Every public key of a text of concatenated PEM blocks. */
export const publicKeys = (text: string): VerificationKey[] => pemBlocks(text).map(publicKey)

/** A PKCS#8 PEM private key, with the kid and public key that belong to it. */
export function privateKey(pem: string): { key: KeyObject; verification: VerificationKey } {
  let key: KeyObject
  try {
    key = createPrivateKey({ key: pem.replace(/\\n/g, '\n'), format: 'pem' })
  } catch {
    throw new KeyFormatError('the private key PEM (PKCS#8) could not be parsed')
  }
  return { key, verification: fromPublicKeyObject(createPublicKey(key)) }
}

/** The JWK of a public verification key, as a JWKS publishes it. Refuses a shared secret. */
export function toPublicJwk(entry: VerificationKey): PublicJwk {
  if (entry.alg === 'HS256') throw new KeyFormatError('a shared secret never goes into a JWKS')
  const jwk = createPublicKey(entry.key).export({ format: 'jwk' })
  return {
    kty: String(jwk.kty),
    crv: String(jwk.crv),
    x: String(jwk.x),
    ...(jwk.y ? { y: jwk.y } : {}),
    kid: entry.kid,
    alg: entry.alg,
    use: 'sig',
  }
}

/**
 * A JWKS entry as a verification key, or undefined when it is not one this verifier may use:
 * not for signatures, another algorithm, a symmetric or private key, or no kid.
 */
export function fromJwk(jwk: unknown): VerificationKey | undefined {
  if (typeof jwk !== 'object' || jwk === null) return undefined
  const j = jwk as Record<string, unknown>
  if (j.use !== undefined && j.use !== 'sig') return undefined
  if (j.kty !== 'OKP' && j.kty !== 'EC') return undefined
  if ('d' in j || typeof j.kid !== 'string') return undefined
  try {
    const key = createPublicKey({
      key: { kty: j.kty, crv: j.crv, x: j.x, ...(j.y === undefined ? {} : { y: j.y }) } as JsonWebKey,
      format: 'jwk',
    })
    const entry = fromPublicKeyObject(key)
    if (j.alg !== undefined && j.alg !== entry.alg) return undefined
    return { ...entry, kid: j.kid }
  } catch {
    return undefined
  }
}
