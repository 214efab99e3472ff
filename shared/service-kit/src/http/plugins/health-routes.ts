import { AppError, CommonErrors, ErrorEnvelope, successSchema } from '@bio/contracts'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import fp from 'fastify-plugin'

/**
 * GET /healthz (liveness: the process is up) and GET /readyz (readiness: `ready()` resolves,
 * i.e. the service's database answers; a 503 envelope with `Retry-After: 5` when it does not).
 */
export const healthRoutes = fp<{ ready: () => Promise<void> }>(
  async (fastify, options) => {
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
    app.get(
      '/healthz',
      {
        schema: {
          tags: ['health'],
          operationId: 'healthz',
          summary: 'Liveness: the process is up',
          response: { 200: successSchema(Type.Object({ status: Type.Literal('ok') })) },
        },
      },
      async () => ({ success: true as const, data: { status: 'ok' as const } }),
    )
    app.get(
      '/readyz',
      {
        schema: {
          tags: ['health'],
          operationId: 'readyz',
          summary: 'Readiness: the database answers',
          response: {
            200: successSchema(Type.Object({ status: Type.Literal('ready') })),
            503: ErrorEnvelope,
          },
        },
      },
      async (req) => {
        try {
          await options.ready()
        } catch (err) {
          req.log.warn({ err }, 'readiness check failed')
          throw new AppError(CommonErrors.SERVICE_UNAVAILABLE, { headers: { 'retry-after': '5' } })
        }
        return { success: true as const, data: { status: 'ready' as const } }
      },
    )
  },
  { name: 'health-routes', fastify: '5.x' },
)
