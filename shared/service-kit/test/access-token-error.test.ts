import { errorBody, isAppError } from '@bio/contracts'
import { AccessTokenError, accessTokenPlugin, createAccessTokenVerifier } from '@bio/token-verifier'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { App } from '../src/index.js'
import { bareServiceApp } from './service-app.js'

/**
 * The verifier package's one error type through the service kit's one error handler: it is an
 * AppError of @bio/contracts, so thrown by the plain function inside a route it comes out as the
 * same 401 envelope the plugin answers with, both rendered by contracts' `errorBody`.
 */

const SECRET = 'shared-handler-test-secret-of-32-bytes!!'
const options = { issuer: 'bio-re-auth', audience: 'bio-re-api', signingSecret: SECRET }
let app: App

beforeAll(async () => {
  app = await bareServiceApp({ env: { JWT_SECRET: SECRET } })
  const verify = createAccessTokenVerifier(options)
  await app.register(accessTokenPlugin, options)
  app.get('/plain', async (req) => ({ sub: (await verify(req.headers['x-token'] as string)).sub }))
  app.get('/plugin', { preHandler: app.requireAuth }, async (req) => ({ sub: req.auth?.sub }))
  app.get('/thrown', async () => {
    throw new AccessTokenError('expired')
  })
  await app.ready()
})
afterAll(async () => {
  await app?.close()
})

describe('AccessTokenError in a service app', () => {
  it('is the same 401 envelope from the error handler (plain function) and from the plugin', async () => {
    const plain = await app.inject({
      url: '/plain',
      headers: { 'x-token': 'a.b.c', 'x-request-id': 'req-plain-1' },
    })
    const plugin = await app.inject({
      url: '/plugin',
      headers: { authorization: 'Bearer a.b.c', 'x-request-id': 'req-plugin-1' },
    })
    for (const [res, id] of [
      [plain, 'req-plain-1'],
      [plugin, 'req-plugin-1'],
    ] as const) {
      expect(res.statusCode).toBe(401)
      expect(res.headers['x-request-id']).toBe(id)
      expect(res.headers['www-authenticate']).toBe(
        'Bearer error="invalid_token", error_description="Invalid access token"',
      )
      expect(res.json()).toEqual({
        success: false,
        error: {
          code: 'AUTH_UNAUTHORIZED',
          message: 'Invalid access token',
          i18nKey: 'auth.token.invalid',
          correlationId: id,
        },
      })
    }
  })

  it('is an AppError whose envelope is errorBody of @bio/contracts', () => {
    const error = new AccessTokenError('missing')
    expect(isAppError(error)).toBe(true)
    expect(error.toEnvelope('req-1')).toEqual(errorBody(error, 'req-1'))
    expect(error.headers).toEqual({ 'www-authenticate': 'Bearer' })
  })

  it('keeps the expired key when thrown anywhere in a route', async () => {
    const res = await app.inject({ url: '/thrown' })
    expect(res.statusCode).toBe(401)
    expect(res.json().error.i18nKey).toBe('auth.token.expired')
  })
})
