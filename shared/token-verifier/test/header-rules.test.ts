import { generateKeyPairSync, randomUUID } from 'node:crypto'
import { accessClaims, hmacToken, type TokenAttackContext } from '@bio/shared/testing'
import Fastify from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import {
  AccessTokenError,
  type AccessTokenVerifierOptions,
  accessTokenPlugin,
  createAccessTokenVerifier,
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
