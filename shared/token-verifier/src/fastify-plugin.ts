import fastifyJwt from '@fastify/jwt'
import type { FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { bearerToken } from './bearer.js'
import type { AccessTokenClaims } from './claims.js'
import { AccessTokenError } from './errors.js'
import type { Algorithm, VerificationKey } from './keys.js'
import { type AccessTokenVerifierOptions, verificationRules } from './rules.js'
import { fromFastJwtError } from './verifier.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** Claims of the verified bearer token; set by `requireAuth`, null before. */
    auth: AccessTokenClaims | null
  }
  interface FastifyInstance {
    /** preHandler that requires a valid bearer access token; answers 401 in the envelope otherwise. */
    requireAuth: (request: FastifyRequest, reply: FastifyReply) => Promise<void>
  }
}

/** @fastify/jwt's own errors, mapped so that none of their text reaches a client. */
const EXPIRED = 'FST_JWT_AUTHORIZATION_TOKEN_EXPIRED'
const toAccessTokenError = (err: unknown): AccessTokenError =>
  (err as { code?: unknown } | null)?.code === EXPIRED
    ? new AccessTokenError('expired', { cause: err })
    : fromFastJwtError(err)

/** The request method of the @fastify/jwt registration pinned to `alg`. */
const verifyMethod = (alg: Algorithm) => `accessToken${alg}Verify`

/**
 * Local verification of access tokens for a Fastify app, on @fastify/jwt: keys chosen by `kid`,
 * algorithms pinned, claims checked as `createAccessTokenVerifier` does. Routes opt in with
 * `preHandler: app.requireAuth`, then read `request.auth`. A refused token is answered with a 401
 * in the API's error envelope and `WWW-Authenticate`, whatever error handler the app has.
 */
export const accessTokenPlugin = fp<AccessTokenVerifierOptions>(
  async (app, options) => {
    const jwks = options.jwks && {
      onError: (err: unknown) => app.log.warn({ err }, 'JWKS fetch failed; verifying with the cached keys'),
      ...options.jwks,
    }
    const rules = verificationRules({ ...options, jwks })
    // The key requireAuth chose for the request, from the token's header, before @fastify/jwt runs.
    const chosen = new WeakMap<FastifyRequest, VerificationKey>()
    // One @fastify/jwt registration per algorithm, each allowing only its own: a key is only ever
    // given to a verifier pinned to the key's algorithm (as the plain function pins `[key.alg]`).
    for (const alg of rules.keySet.algorithms)
      await app.register(fastifyJwt, {
        namespace: `accessToken${alg}`,
        jwtVerify: verifyMethod(alg),
        decoratorName: 'auth',
        decode: { complete: true },
        secret: async (request: FastifyRequest) => {
          const key = chosen.get(request)
          if (!key || key.alg !== alg) throw new AccessTokenError('invalid')
          return key.key
        },
        verify: {
          ...rules.fastJwt,
          algorithms: [alg],
          extractToken: (request) => bearerToken(request.headers.authorization),
        },
        trusted: async (_request, payload) => {
          rules.claims(payload)
          return true
        },
        formatUser: (payload) => payload as AccessTokenClaims,
      })
    if (!app.hasRequestDecorator('auth')) app.decorateRequest('auth', null)
    app.decorate('requireAuth', async (request: FastifyRequest, reply: FastifyReply) => {
      try {
        const token = bearerToken(request.headers.authorization)
        if (!token) throw new AccessTokenError('missing')
        const key = await rules.keySet.select(rules.inspect(token))
        if (!key) throw new AccessTokenError('invalid')
        chosen.set(request, key)
        await (request as unknown as Record<string, () => Promise<unknown>>)[verifyMethod(key.alg)]!()
      } catch (err) {
        const error = toAccessTokenError(err)
        request.auth = null
        return reply
          .code(error.statusCode)
          .headers(error.headers)
          .type('application/json; charset=utf-8')
          .send(error.toEnvelope(request.id))
      }
    })
    await rules.keySet.ready()
  },
  { name: 'access-token-auth', fastify: '5.x' },
)
