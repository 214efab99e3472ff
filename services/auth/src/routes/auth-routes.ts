import { errorResponses, successBody, successSchema } from '@bio/contracts'
import { type FastifyPluginAsyncTypebox, HOUR } from '@bio/service-kit'
import type { FastifyRequest } from 'fastify'
import type { AuthConfig } from '../config.js'
import type { AuthService } from '../domain/auth-service.js'
import { normalizeEmail, normalizeUsername } from '../lib/identifiers.js'
import {
  LoginBody,
  MeResult,
  MessageResult,
  RefreshTokenBody,
  RegisterBody,
  RegisterResult,
  TokenResult,
} from '../schemas/auth.js'
import { accountRoutes } from './account-routes.js'
import { deviceCookie, refreshCookie } from './refresh-cookie.js'
import { contextOf } from './request-context.js'
import { sessionRoutes } from './session-routes.js'

/** Puts the body's e-mail and username into their normal form (lib/identifiers.ts) before validation. */
async function normalizeIdentifiers(req: FastifyRequest): Promise<void> {
  const body = req.body as Record<string, unknown> | undefined | null
  if (body === undefined) {
    req.body = {}
    return
  }
  if (!body || typeof body !== 'object' || Array.isArray(body)) return
  if (typeof body.email === 'string') body.email = normalizeEmail(body.email)
  if (typeof body.username === 'string') body.username = normalizeUsername(body.username)
}

export const authRoutes: FastifyPluginAsyncTypebox<{ service: AuthService; config: AuthConfig }> = async (
  app,
  { service, config },
) => {
  const cookie = refreshCookie(config)
  const device = deviceCookie(config)
  app.addHook('preValidation', normalizeIdentifiers)
  app.addHook('onSend', async (_req, reply) => {
    reply.header('cache-control', 'no-store')
  })

  app.post(
    '/register',
    {
      config: { rateLimit: app.rateLimitFor('register', { max: 10, timeWindow: HOUR }) },
      schema: {
        tags: ['auth'],
        operationId: 'register',
        summary: 'Create an account and sign it in',
        description:
          'Returns the new user id and an access token, and sets the `biore_refresh` and `biore_device` (known-device) cookies.',
        body: RegisterBody,
        response: {
          201: successSchema(RegisterResult),
          ...errorResponses(400, 403, 409, 413, 415, 429, 503),
        },
      },
    },
    async (req, reply) => {
      const {
        userId,
        accessToken,
        expiresIn,
        refresh,
        device: known,
      } = await service.register(req.body, contextOf(req))
      cookie.set(reply, refresh)
      device.set(reply, known)
      return reply.code(201).send(successBody({ userId, accessToken, expiresIn }))
    },
  )

  app.post(
    '/login',
    {
      config: { rateLimit: app.rateLimitFor('login', { max: 20, timeWindow: HOUR }) },
      schema: {
        tags: ['auth'],
        operationId: 'login',
        summary: 'Sign in with e-mail and password',
        description:
          'Unknown e-mail and wrong password give the same 401. Sets the `biore_refresh` and `biore_device` (known-device) cookies; a valid `biore_device` for the e-mail skips its sign-in delay.',
        body: LoginBody,
        response: { 200: successSchema(TokenResult), ...errorResponses(400, 401, 413, 415, 429, 503) },
      },
    },
    async (req, reply) => {
      const { accessToken, expiresIn, refresh, device: known } = await service.login(req.body, contextOf(req))
      cookie.set(reply, refresh)
      device.set(reply, known)
      return successBody({ accessToken, expiresIn })
    },
  )

  app.post(
    '/refresh',
    {
      config: { rateLimit: app.rateLimitFor('refresh', { max: 60, timeWindow: HOUR }) },
      schema: {
        tags: ['auth'],
        operationId: 'refresh',
        summary: 'Rotate the refresh token and get a new access token',
        description:
          'Reads the `biore_refresh` cookie, or `refreshToken` in the body. A token that was already used revokes every session of the account.',
        body: RefreshTokenBody,
        response: { 200: successSchema(TokenResult), ...errorResponses(400, 401, 413, 415, 429, 503) },
      },
    },
    async (req, reply) => {
      const {
        accessToken,
        expiresIn,
        refresh,
        device: known,
      } = await service.refresh(cookie.read(req, req.body), contextOf(req))
      cookie.set(reply, refresh)
      device.set(reply, known)
      return successBody({ accessToken, expiresIn })
    },
  )

  app.post(
    '/logout',
    {
      config: { rateLimit: app.rateLimitFor('logout', { max: 60, timeWindow: HOUR }) },
      schema: {
        tags: ['auth'],
        operationId: 'logout',
        summary: 'Revoke the refresh token and clear its cookie',
        description: 'Idempotent. The access token stays valid until it expires.',
        body: RefreshTokenBody,
        response: { 200: successSchema(MessageResult), ...errorResponses(400, 413, 415, 429, 503) },
      },
    },
    async (req, reply) => {
      await service.logout(cookie.read(req, req.body), contextOf(req))
      cookie.clear(reply)
      return successBody({ message: 'Logged out successfully' })
    },
  )

  app.get(
    '/me',
    {
      preHandler: app.requireAuth,
      config: { rateLimit: app.rateLimitFor('me', { max: 60, timeWindow: HOUR }) },
      schema: {
        tags: ['auth'],
        operationId: 'me',
        summary: 'The signed-in user',
        security: [{ bearerAuth: [] }],
        response: { 200: successSchema(MeResult), ...errorResponses(401, 429, 503) },
      },
    },
    async (req) => successBody(await service.me(req.auth!.sub)),
  )

  await app.register(accountRoutes, { service })
  await app.register(sessionRoutes, { service })
}
