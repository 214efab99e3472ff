import type { FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { type AccessTokenClaims, bearerToken, missingToken, type VerifyAccessToken } from './access-token.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** Claims of the verified bearer token; set by `requireAuth`. */
    auth: AccessTokenClaims | null
  }
  interface FastifyInstance {
    /** preHandler that requires a valid bearer access token. */
    requireAuth: (req: FastifyRequest, reply: FastifyReply) => Promise<void>
  }
}

/** Verifies bearer access tokens locally on routes that declare `preHandler: app.requireAuth`. */
export const accessTokenAuth = fp<{ verify: VerifyAccessToken }>(
  async (app, { verify }) => {
    app.decorateRequest('auth', null)
    app.decorate('requireAuth', async (req: FastifyRequest) => {
      const token = bearerToken(req.headers.authorization)
      if (!token) throw missingToken()
      req.auth = verify(token)
    })
  },
  { name: 'access-token-auth', fastify: '5.x' },
)
