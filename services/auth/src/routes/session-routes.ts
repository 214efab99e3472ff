import { errorResponses, successBody, successSchema } from '@bio/contracts'
import { type FastifyPluginAsyncTypebox, HOUR } from '@bio/service-kit'
import type { AuthService } from '../domain/auth-service.js'
import { SessionIdParams, SessionList, SuccessOnly } from '../schemas/auth.js'
import { callerOf, contextOf } from './request-context.js'

/** The signed-in user's refresh sessions: list and revoke (contract 3.1, 3.8). */
export const sessionRoutes: FastifyPluginAsyncTypebox<{ service: AuthService }> = async (
  app,
  { service },
) => {
  app.get(
    '/sessions',
    {
      preHandler: app.requireAuth,
      config: { rateLimit: app.rateLimitFor('listSessions', { max: 30, timeWindow: HOUR }) },
      schema: {
        tags: ['auth'],
        operationId: 'listSessions',
        summary: 'The signed-in user’s active sessions',
        security: [{ bearerAuth: [] }],
        response: { 200: successSchema(SessionList), ...errorResponses(401, 429, 503) },
      },
    },
    async (req) => successBody(await service.listSessions(callerOf(req))),
  )

  app.delete(
    '/sessions/:id',
    {
      preHandler: app.requireAuth,
      config: { rateLimit: app.rateLimitFor('revokeSession', { max: 20, timeWindow: HOUR }) },
      schema: {
        tags: ['auth'],
        operationId: 'revokeSession',
        summary: 'Sign one session out',
        description:
          '400 `auth.sessions.cannot_revoke_current` for the caller’s own session; 404 `auth.sessions.not_found` for an unknown one or another user’s.',
        security: [{ bearerAuth: [] }],
        params: SessionIdParams,
        response: { 200: SuccessOnly, ...errorResponses(400, 401, 404, 429, 503) },
      },
    },
    async (req) => {
      await service.revokeSession(callerOf(req), req.params.id, contextOf(req))
      return { success: true as const }
    },
  )

  app.post(
    '/sessions/revoke-all',
    {
      preHandler: app.requireAuth,
      config: { rateLimit: app.rateLimitFor('revokeOtherSessions', { max: 5, timeWindow: HOUR }) },
      schema: {
        tags: ['auth'],
        operationId: 'revokeOtherSessions',
        summary: 'Sign every other session out',
        description: 'Revokes every session of the user but the current one.',
        security: [{ bearerAuth: [] }],
        response: { 200: SuccessOnly, ...errorResponses(401, 429, 503) },
      },
    },
    async (req) => {
      await service.revokeOtherSessions(callerOf(req), contextOf(req))
      return { success: true as const }
    },
  )
}
