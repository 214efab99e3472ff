import { createJwksCache, type JwksCache, type JwksCacheOptions } from './jwks-cache.js'
import { type Algorithm, publicKeys, secretKey, type VerificationKey } from './keys.js'

/** Where a verifier's keys come from. Configure at least one. */
export interface KeySources {
  /** The key auth signs with in HS256 mode; the only key a token without `kid` is tried against. */
  signingSecret?: string | undefined
  /** More shared secrets that verify (the previous key after a rotation, the next one before). */
  verifySecrets?: readonly string[] | undefined
  /** SPKI PEM public keys (Ed25519 or P-256), one per entry or concatenated. */
  publicKeys?: readonly string[] | undefined
  /** auth's `/.well-known/jwks.json`, fetched at start and when a token names an unknown kid. */
  jwks?: JwksCacheOptions | undefined
}

/** Headers by which a token would choose its own key (RFC 8725 §3.10); all are refused. */
const KEY_CHOOSING_HEADERS = ['jku', 'x5u', 'jwk', 'x5c']
/** Our kids: 16-character or 43-character base64url. Anything else is refused before any lookup. */
const KID = /^[A-Za-z0-9_-]{1,64}$/

export interface KeySet {
  /** The key a token header names, or undefined: the token is then refused. */
  select(header: Record<string, unknown>): VerificationKey | undefined | Promise<VerificationKey | undefined>
  /** The algorithms of the configured keys (and the JWKS's), pinned for fast-jwt. */
  readonly algorithms: readonly Algorithm[]
  /** Resolves once the JWKS, if any, has been fetched once. */
  ready(): Promise<void>
  readonly jwks: JwksCache | undefined
}

export function createKeySet(sources: KeySources, jwksAlgorithms: readonly Algorithm[] = []): KeySet {
  const known = new Map<string, VerificationKey>()
  const add = (key: VerificationKey) => known.set(key.kid, key)
  const signing = sources.signingSecret === undefined ? undefined : secretKey(sources.signingSecret)
  if (signing) add(signing)
  for (const secret of sources.verifySecrets ?? []) add(secretKey(secret))
  for (const text of sources.publicKeys ?? []) for (const key of publicKeys(text)) add(key)
  const jwks = sources.jwks ? createJwksCache(sources.jwks) : undefined
  if (known.size === 0 && !jwks) throw new Error('a token verifier needs at least one key or a JWKS URL')
  const algorithms = [...new Set([...[...known.values()].map((k) => k.alg), ...(jwks ? jwksAlgorithms : [])])]
  if (algorithms.length === 0) throw new Error('a JWKS verifier needs the algorithms it accepts')

  return {
    algorithms,
    jwks,
    ready: () => jwks?.ready() ?? Promise.resolve(),
    select(header) {
      if (KEY_CHOOSING_HEADERS.some((name) => name in header)) return undefined
      const { alg, kid } = header
      if (typeof alg !== 'string' || !algorithms.includes(alg as Algorithm)) return undefined
      const matches = (key: VerificationKey | undefined) => (key && key.alg === alg ? key : undefined)
      if (kid === undefined) return matches(signing)
      if (typeof kid !== 'string' || !KID.test(kid)) return undefined
      const local = known.get(kid)
      if (local || !jwks || alg === 'HS256') return matches(local)
      return jwks.find(kid).then(matches)
    },
  }
}
