import cors from '@fastify/cors'
import fp from 'fastify-plugin'
import { REQUEST_ID_HEADER } from '../correlation-id.js'

/**
 * CORS for the CORS_ORIGINS allow-list only (none when it is empty), with credentials; the
 * correlation id, Retry-After and the rate-limit headers are readable by the page.
 */
export const corsPolicy = fp<{ origins: string[] }>(
  async (app, options) => {
    await app.register(cors, {
      origin: options.origins.length > 0 ? options.origins : false,
      credentials: true,
      methods: ['GET', 'POST', 'PATCH', 'DELETE', 'OPTIONS'],
      allowedHeaders: ['content-type', 'authorization', REQUEST_ID_HEADER],
      exposedHeaders: [
        REQUEST_ID_HEADER,
        'retry-after',
        'ratelimit-limit',
        'ratelimit-remaining',
        'ratelimit-reset',
      ],
      maxAge: 600,
    })
  },
  { name: 'cors-policy', fastify: '5.x' },
)
