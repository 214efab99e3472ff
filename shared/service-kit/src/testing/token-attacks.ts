import { createHmac, generateKeyPairSync, type KeyObject, randomUUID, sign } from 'node:crypto'
import { publicKeyKid, secretKid } from '@bio/token-verifier'

/**
 * Hand-made access tokens (node:crypto only, no JWT library) for the attack suites of both
 * services: every case must be refused with a 401 in the envelope. The signing secret and a
 * verify-only Ed25519 public key are the verifier's own, so each forgery fails for its stated
 * reason, not for a wrong key.
 */
export interface TokenAttackContext {
  /** The HS256 key the service signs with. */
  secret: string
  issuer: string
  audience: string
  /** A user id the tokens name. */
  subject: string
  /** An Ed25519 key pair whose public key the service verifies with (JWT_*PUBLIC_KEYS). */
  edKeys: { publicKey: KeyObject; privateKey: KeyObject }
}

type Json = Record<string, unknown>
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
const nowS = () => Math.floor(Date.now() / 1000)

/** An Ed25519 key pair for the verify-only key of a test configuration. */
export const edKeyPair = () => generateKeyPairSync('ed25519')
export const publicPem = (key: KeyObject) => key.export({ format: 'pem', type: 'spki' }).toString()
export const privatePem = (key: KeyObject) => key.export({ format: 'pem', type: 'pkcs8' }).toString()

/** Signs header.payload with HMAC-SHA256 of `key`, whatever the header says. */
export function hmacToken(header: Json, payload: Json, key: string | Buffer): string {
  const input = `${b64(header)}.${b64(payload)}`
  return `${input}.${createHmac('sha256', key).update(input).digest('base64url')}`
}

/** Signs header.payload with an Ed25519 or P-256 private key (JWS signature form for ES256). */
export function keyToken(header: Json, payload: Json, key: KeyObject): string {
  const input = `${b64(header)}.${b64(payload)}`
  const algorithm = key.asymmetricKeyType === 'ed25519' ? null : 'sha256'
  const signature = sign(algorithm, Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' })
  return `${input}.${signature.toString('base64url')}`
}

export function accessClaims(ctx: TokenAttackContext, overrides: Json = {}): Json {
  return {
    sub: ctx.subject,
    sid: randomUUID(),
    iss: ctx.issuer,
    aud: ctx.audience,
    iat: nowS(),
    exp: nowS() + 600,
    ...overrides,
  }
}

/** A header as auth writes it for the shared secret. */
export const hsHeader = (ctx: TokenAttackContext, extra: Json = {}): Json => ({
  alg: 'HS256',
  typ: 'at+jwt',
  kid: secretKid(ctx.secret),
  ...extra,
})

/** A token the service must accept: the control of every suite. */
export const validToken = (ctx: TokenAttackContext) => hmacToken(hsHeader(ctx), accessClaims(ctx), ctx.secret)

/** Rewrites the last character of a signature to another spelling of the same bytes. */
function otherSpelling(signature: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  const last = alphabet.indexOf(signature.at(-1)!)
  // 32 bytes → 43 characters: the last one carries 4 bits, the 2 low bits are padding.
  return signature.slice(0, -1) + alphabet[last ^ 1]
}

/** Every forgery, by name. Each must be answered 401 AUTH_UNAUTHORIZED (`i18nKey` when given). */
export function tokenAttacks(ctx: TokenAttackContext): [name: string, token: string, i18nKey?: string][] {
  const claims = accessClaims(ctx)
  const edPem = publicPem(ctx.edKeys.publicKey)
  const edKid = publicKeyKid(ctx.edKeys.publicKey)
  const other = edKeyPair()
  const [h, p, s] = validToken(ctx).split('.') as [string, string, string]
  const secretKeyed = (header: Json, payload: Json = claims) => hmacToken(header, payload, ctx.secret)
  return [
    ['alg none', `${b64({ alg: 'none', typ: 'at+jwt' })}.${b64(claims)}.`],
    ['alg none without a signature part', `${b64({ alg: 'none', typ: 'at+jwt' })}.${b64(claims)}`],
    ['HS512 with the right key and kid', secretKeyed(hsHeader(ctx, { alg: 'HS512' }))],
    ['RS256 header over an HMAC of the shared key', secretKeyed(hsHeader(ctx, { alg: 'RS256' }))],
    [
      'HS256 signed with another key',
      hmacToken(hsHeader(ctx), claims, 'another-key-of-at-least-32-bytes-length'),
    ],
    [
      'expired',
      secretKeyed(hsHeader(ctx), { ...claims, iat: nowS() - 3600, exp: nowS() - 60 }),
      'auth.token.expired',
    ],
    ['another issuer', secretKeyed(hsHeader(ctx), { ...claims, iss: 'evil' })],
    ['another audience', secretKeyed(hsHeader(ctx), { ...claims, aud: 'other-api' })],
    ['a tampered payload', `${h}.${b64({ ...claims, sub: randomUUID() })}.${s}`],
    ['a tampered header', `${b64({ ...hsHeader(ctx), cty: 'x' })}.${p}.${s}`],
    ['an unknown kid', secretKeyed(hsHeader(ctx, { kid: 'AAAAAAAAAAAAAAAA' }))],
    ['a kid naming the Ed25519 key on an HS256 token', secretKeyed(hsHeader(ctx, { kid: edKid }))],
    [
      'a kid naming the shared secret on an EdDSA token',
      keyToken({ alg: 'EdDSA', typ: 'at+jwt', kid: secretKid(ctx.secret) }, claims, ctx.edKeys.privateKey),
    ],
    ['a path-traversal kid', secretKeyed(hsHeader(ctx, { kid: '../../../../etc/passwd' }))],
    ['an SQL kid', secretKeyed(hsHeader(ctx, { kid: "' OR '1'='1'; DROP TABLE users; --" }))],
    ['a very long kid', secretKeyed(hsHeader(ctx, { kid: 'k'.repeat(900) }))],
    ['a kid that is not a string', secretKeyed(hsHeader(ctx, { kid: { $ne: null } }))],
    ...['jku', 'x5u'].map((name): [string, string] => [
      `a ${name} header`,
      secretKeyed(hsHeader(ctx, { [name]: 'http://127.0.0.1:1/keys' })),
    ]),
    [
      'a jwk header carrying its own key',
      keyToken(
        { alg: 'EdDSA', typ: 'at+jwt', jwk: other.publicKey.export({ format: 'jwk' }) },
        claims,
        other.privateKey,
      ),
    ],
    ['an x5c header', secretKeyed(hsHeader(ctx, { x5c: ['MIIBszCCAVmgAwIBAgIUBogus'] }))],
    // RFC 7515 §4.1.11: we understand no extension, so any crit header is refused, even a falsy one.
    ...(
      [
        ['an extension', { crit: ['x-bio'], 'x-bio': true }],
        ['an empty list', { crit: [] }],
        ['null', { crit: null }],
        ['an empty string', { crit: '' }],
        ['false', { crit: false }],
      ] as const
    ).map(([what, extra]): [string, string] => [
      `a crit header of ${what}`,
      secretKeyed(hsHeader(ctx, extra)),
    ]),
    ['typ JWT', secretKeyed(hsHeader(ctx, { typ: 'JWT' }))],
    ['no typ', secretKeyed({ alg: 'HS256', kid: secretKid(ctx.secret) })],
    ['typ of another token kind', secretKeyed(hsHeader(ctx, { typ: 'refresh+jwt' }))],
    [
      'HS256 keyed with the public key PEM, no kid',
      hmacToken({ alg: 'HS256', typ: 'at+jwt' }, claims, edPem),
    ],
    ['HS256 keyed with the public key PEM, its kid', hmacToken(hsHeader(ctx, { kid: edKid }), claims, edPem)],
    [
      'EdDSA signed by a key nobody configured',
      keyToken({ alg: 'EdDSA', typ: 'at+jwt', kid: edKid }, claims, other.privateKey),
    ],
    [
      'iat far in the future',
      secretKeyed(hsHeader(ctx), { ...claims, iat: nowS() + 600, exp: nowS() + 900 }),
    ],
    ['a 10-year lifetime', secretKeyed(hsHeader(ctx), { ...claims, exp: nowS() + 10 * 365 * 86_400 })],
    ['a signature with base64 padding', `${h}.${p}.${s}=`],
    [
      'a signature in base64 (not base64url) spelling',
      `${h}.${p}.${s.replace(/-/g, '+').replace(/_/g, '/')}+`,
    ],
    ['a signature with other trailing bits', `${h}.${p}.${otherSpelling(s)}`],
  ]
}
