import { generateKeyPairSync, randomUUID } from 'node:crypto'
import {
  accessClaims,
  hmacToken,
  keyToken,
  publicPem,
  type TokenAttackContext,
} from '@bio/service-kit/testing'
import Fastify from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import {
  AccessTokenError,
  type AccessTokenVerifierOptions,
  accessTokenPlugin,
  createAccessTokenVerifier,
  publicKeyKid,
  secretKid,
} from '../src/index.js'

const SECRET = 'header-rules-secret-of-at-least-32-bytes!'
const ctx: TokenAttackContext = {
  secret: SECRET,
  issuer: 'bio-re-auth',
  audience: 'bio-re-api',
  subject: randomUUID(),
  edKeys: generateKeyPairSync('ed25519'),
}
const options: AccessTokenVerifierOptions = {
  issuer: ctx.issuer,
  audience: ctx.audience,
  signingSecret: SECRET,
}
const hs = (header: Record<string, unknown> = {}) =>
  hmacToken({ alg: 'HS256', typ: 'at+jwt', kid: secretKid(SECRET), ...header }, accessClaims(ctx), SECRET)

const apps: ReturnType<typeof Fastify>[] = []
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()))
})
async function pluginApp(opts: AccessTokenVerifierOptions) {
  const app = Fastify()
  apps.push(app)
  await app.register(accessTokenPlugin, opts)
  app.get('/whoami', { preHandler: app.requireAuth }, async (req) => ({ user: req.auth?.sub }))
  return app
}
const whoami = (app: ReturnType<typeof Fastify>, token: string) =>
  app.inject({ url: '/whoami', headers: { authorization: `Bearer ${token}` } })

// RFC 7515 §4.1.11: a recipient must refuse extensions it does not understand; we understand none.
const CRIT: [string, unknown][] = [
  ['an understood-nowhere extension', ['x-bio']],
  ['an empty list', []],
  ['null', null],
  ['an empty string', ''],
  ['false', false],
  ['0', 0],
]

describe('a crit header is refused, whatever its value', () => {
  it('(control) the same token without crit is accepted by both paths', async () => {
    expect((await createAccessTokenVerifier(options)(hs())).sub).toBe(ctx.subject)
    expect((await whoami(await pluginApp(options), hs())).statusCode).toBe(200)
  })

  it.each(CRIT)('the plain function refuses crit as %s', async (_what, crit) => {
    const verify = createAccessTokenVerifier(options)
    const err = await verify(hs({ crit, 'x-bio': true })).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(AccessTokenError)
    expect((err as AccessTokenError).i18nKey).toBe('auth.token.invalid')
  })

  it.each(CRIT)('the Fastify plugin refuses crit as %s', async (_what, crit) => {
    const res = await whoami(await pluginApp(options), hs({ crit, 'x-bio': true }))
    expect(res.statusCode).toBe(401)
    expect(res.json().error.i18nKey).toBe('auth.token.invalid')
  })
})

describe('the Fastify plugin pins each key to its own algorithm', () => {
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const ed = ctx.edKeys
  const threeKeys: AccessTokenVerifierOptions = {
    ...options,
    publicKeys: [publicPem(ec.publicKey), publicPem(ed.publicKey)],
  }
  const ecKid = publicKeyKid(ec.publicKey)
  const edKid = publicKeyKid(ed.publicKey)
  const claims = () => accessClaims(ctx)

  it('verifies with one @fastify/jwt verifier per algorithm, each allowing that algorithm only', async () => {
    const app = await pluginApp(threeKeys)
    const namespaces = app.jwt as unknown as Record<string, { options: { verify: { algorithms: string[] } } }>
    for (const alg of ['HS256', 'ES256', 'EdDSA'])
      expect(namespaces[`accessToken${alg}`]?.options.verify.algorithms).toEqual([alg])
  })

  it('(control) accepts a token of each key, signed with its own algorithm', async () => {
    const app = await pluginApp(threeKeys)
    for (const token of [
      hs(),
      keyToken({ alg: 'ES256', typ: 'at+jwt', kid: ecKid }, claims(), ec.privateKey),
      keyToken({ alg: 'EdDSA', typ: 'at+jwt', kid: edKid }, claims(), ed.privateKey),
    ])
      expect((await whoami(app, token)).statusCode).toBe(200)
  })

  it.each([
    [
      'an EdDSA token naming the ES256 key',
      () => keyToken({ alg: 'EdDSA', typ: 'at+jwt', kid: ecKid }, claims(), ed.privateKey),
    ],
    [
      'an ES256 token naming the EdDSA key',
      () => keyToken({ alg: 'ES256', typ: 'at+jwt', kid: edKid }, claims(), ec.privateKey),
    ],
    [
      'an HS256 token naming the EdDSA key, keyed with its PEM',
      () => hmacToken({ alg: 'HS256', typ: 'at+jwt', kid: edKid }, claims(), publicPem(ed.publicKey)),
    ],
    [
      'an HS256 token naming the ES256 key, keyed with its PEM',
      () => hmacToken({ alg: 'HS256', typ: 'at+jwt', kid: ecKid }, claims(), publicPem(ec.publicKey)),
    ],
    [
      'an ES256 token naming the shared secret',
      () => keyToken({ alg: 'ES256', typ: 'at+jwt', kid: secretKid(SECRET) }, claims(), ec.privateKey),
    ],
  ])('refuses %s with a 401', async (_what, token) => {
    const app = await pluginApp(threeKeys)
    const res = await whoami(app, token())
    expect(res.statusCode).toBe(401)
    expect(res.json().error.i18nKey).toBe('auth.token.invalid')
  })

  it('an ES256-only verifier refuses an EdDSA token that names its key', async () => {
    const app = await pluginApp({
      issuer: ctx.issuer,
      audience: ctx.audience,
      publicKeys: [publicPem(ec.publicKey)],
    })
    const forged = keyToken({ alg: 'EdDSA', typ: 'at+jwt', kid: ecKid }, claims(), ed.privateKey)
    expect((await whoami(app, forged)).statusCode).toBe(401)
    const good = keyToken({ alg: 'ES256', typ: 'at+jwt', kid: ecKid }, claims(), ec.privateKey)
    expect((await whoami(app, good)).statusCode).toBe(200)
  })
})
