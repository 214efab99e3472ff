import { generateKeyPairSync } from 'node:crypto'
import { ConfigError } from '@bio/service-kit'
import { edKeyPair, privatePem, publicPem } from '@bio/service-kit/testing'
import { publicKeyKid, secretKid } from '@bio/token-verifier'
import { describe, expect, it } from 'vitest'
import { loadAuthConfig } from '../src/config.js'
import { createAccessTokenSigner, signingKey } from '../src/tokens/access-token-signer.js'
import { jwksOf } from '../src/tokens/jwks.js'
import { TEST_SECRET } from './helper.js'

const NEXT = 'the-next-shared-secret-at-least-32-bytes!'
const ed = edKeyPair()
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' })
const load = (env: Record<string, string>) => loadAuthConfig(env)
const configError = (env: Record<string, string>): ConfigError => {
  try {
    load(env)
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError)
    return err as ConfigError
  }
  throw new Error('expected a ConfigError')
}
const header = (token: string) => JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString())

describe('auth token configuration', () => {
  it('HS256 (default): signs with JWT_SECRET under its derived kid; JWT_VERIFY_SECRETS only verify', () => {
    const config = load({ JWT_SECRET: TEST_SECRET, JWT_VERIFY_SECRETS: ` ${NEXT} ,` })
    expect(config.tokens.verifySecrets).toEqual([NEXT])
    expect(signingKey(config.tokens).kid).toBe(secretKid(TEST_SECRET))
    const { accessToken } = createAccessTokenSigner(config.tokens)({
      userId: '00000000-0000-4000-8000-000000000001',
      sessionId: '00000000-0000-4000-8000-000000000002',
    })
    expect(header(accessToken)).toEqual({ alg: 'HS256', typ: 'at+jwt', kid: secretKid(TEST_SECRET) })
    expect(jwksOf(config.tokens)).toEqual({ keys: [] })
  })

  it.each([
    ['EdDSA', privatePem(ed.privateKey), ed.publicKey],
    ['ES256', privatePem(ec.privateKey), ec.publicKey],
  ] as const)(
    '%s: signs with JWT_PRIVATE_KEY, JWT_SECRET plays no part, the JWKS has public keys only',
    (alg, pem, pub) => {
      const config = load({
        JWT_ALGORITHM: alg,
        JWT_SECRET: TEST_SECRET,
        JWT_PRIVATE_KEY: pem.replace(/\n/g, '\\n'),
        JWT_VERIFY_PUBLIC_KEYS: publicPem(edKeyPair().publicKey),
      })
      expect(config.tokens.secret).toBeUndefined()
      const { accessToken } = createAccessTokenSigner(config.tokens)({
        userId: '00000000-0000-4000-8000-000000000001',
        sessionId: '00000000-0000-4000-8000-000000000002',
      })
      expect(header(accessToken)).toEqual({ alg, typ: 'at+jwt', kid: publicKeyKid(pub) })
      const jwks = jwksOf(config.tokens)
      expect(jwks.keys).toHaveLength(2)
      expect(jwks.keys[0]).toMatchObject({ kid: publicKeyKid(pub), alg, use: 'sig' })
      expect(JSON.stringify(jwks)).not.toMatch(/"d"|"k"|PRIVATE|oct/)
      expect(JSON.stringify(jwks)).not.toContain(TEST_SECRET)
    },
  )

  it.each([
    ['HS256 without JWT_SECRET', {}, 'JWT_SECRET'],
    ['EdDSA without JWT_PRIVATE_KEY', { JWT_ALGORITHM: 'EdDSA' }, 'JWT_PRIVATE_KEY'],
    [
      'an ES256 key for EdDSA',
      { JWT_ALGORITHM: 'EdDSA', JWT_PRIVATE_KEY: privatePem(ec.privateKey) },
      'JWT_PRIVATE_KEY',
    ],
    [
      'a public key as JWT_PRIVATE_KEY',
      { JWT_ALGORITHM: 'EdDSA', JWT_PRIVATE_KEY: publicPem(ed.publicKey) },
      'JWT_PRIVATE_KEY',
    ],
    [
      'an RSA key',
      {
        JWT_ALGORITHM: 'ES256',
        JWT_PRIVATE_KEY: privatePem(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey),
      },
      'JWT_PRIVATE_KEY',
    ],
    [
      'a short JWT_VERIFY_SECRETS entry',
      { JWT_SECRET: TEST_SECRET, JWT_VERIFY_SECRETS: 'short-one' },
      'JWT_VERIFY_SECRETS',
    ],
    [
      'a private key in JWT_VERIFY_PUBLIC_KEYS',
      { JWT_SECRET: TEST_SECRET, JWT_VERIFY_PUBLIC_KEYS: privatePem(ed.privateKey) },
      'JWT_VERIFY_PUBLIC_KEYS',
    ],
    ['an unknown JWT_ALGORITHM', { JWT_SECRET: TEST_SECRET, JWT_ALGORITHM: 'RS256' }, 'JWT_ALGORITHM'],
    [
      'a TTL above JWT_MAX_LIFETIME_S',
      { JWT_SECRET: TEST_SECRET, ACCESS_TOKEN_TTL_S: '7200' },
      'ACCESS_TOKEN_TTL_S',
    ],
  ])('%s is a ConfigError naming the variable, never echoing a key', (_name, env, variable) => {
    const error = configError(env as Record<string, string>)
    expect(error.message).toContain(variable)
    expect(error.message).not.toMatch(/BEGIN|short-one|MC4CAQAw/)
  })
})
