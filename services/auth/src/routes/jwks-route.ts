import { errorResponses } from '@bio/contracts'
import type { FastifyPluginAsyncTypebox } from '@bio/service-kit'
import { JsonWebKeySet } from '@bio/token-verifier'
import type { AuthConfig } from '../config.js'
import { jwksOf } from '../tokens/jwks.js'

export const JWKS_PATH = '/.well-known/jwks.json'

/** The public keys that verify access tokens, for verifiers configured with `JWT_JWKS_URL`. */
export const jwksRoute: FastifyPluginAsyncTypebox<{ config: AuthConfig }> = async (app, { config }) => {
  // Built once: the keys change only with the configuration, that is with a restart.
  const jwks = jwksOf(config.tokens)
  app.get(
    JWKS_PATH,
    {
      schema: {
        tags: ['auth'],
        operationId: 'jwks',
        summary: 'Public keys of access tokens (JWKS)',
        description:
          'The signing key and the verify-only keys (`JWT_VERIFY_PUBLIC_KEYS`) in EdDSA or ES256 mode, ' +
          'each with `kid`, `alg` and `use: "sig"`. Empty in HS256 mode: a shared secret is never published. ' +
          'Cacheable for 10 minutes; a verifier refetches it when a token names an unknown `kid`.',
        response: { 200: JsonWebKeySet, ...errorResponses() },
      },
    },
    async (_req, reply) => {
      // application/json (what the OpenAPI document declares, and what verifiers commonly expect).
      reply.header('cache-control', 'public, max-age=600')
      return jwks
    },
  )
}
