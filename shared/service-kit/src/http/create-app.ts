import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyServerOptions } from 'fastify'
import type { HttpConfig } from '../config/common-env.js'
import { corsPolicy } from './plugins/cors-policy.js'
import { errorHandling } from './plugins/error-handler.js'
import { gracefulClose } from './plugins/graceful-close.js'
import { healthRoutes } from './plugins/health-routes.js'
import { jsonBodies } from './plugins/json-bodies.js'
import { type MetricsOptions, metricsPlugin } from './plugins/metrics.js'
import { openApiDocs } from './plugins/openapi-docs.js'
import { overloadProtection } from './plugins/overload.js'
import { rateLimiting } from './plugins/rate-limit.js'
import { requestClientIp } from './plugins/request-client-ip.js'
import { responseHeaders } from './plugins/response-headers.js'
import { type ResourcePolicy, securityHeaders } from './security-headers.js'
import { serverOptions } from './server-options.js'

export type App = FastifyInstance<
  Server,
  IncomingMessage,
  ServerResponse,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>

export interface ServiceAppOptions {
  name: string
  title: string
  description: string
  version: string
  http: HttpConfig
  /** Default body limit in bytes; routes may set a smaller one. */
  bodyLimit: number
  /** Readiness probe: resolves when the service's dependencies (its database) answer. */
  ready: () => Promise<void>
  /** Overrides the logger (tests pass `false` or a capturing stream). */
  logger?: FastifyServerOptions['logger']
  /** Service-specific gauges for the metrics. */
  gauges?: MetricsOptions['gauges']
  /** Cross-Origin-Resource-Policy; `cross-origin` for resources embedded by other sites. */
  resourcePolicy?: ResourcePolicy
}

/**
 * A Fastify instance with the project's HTTP conventions, one plugin each (./plugins/), in this
 * order: the headers and the closing 503 first, so every answer has them; the error envelope
 * before anything that can fail; metrics (on their own listener) and load shedding before the
 * per-client rules; OpenAPI before any route, so it sees them all. Each service registers its
 * own routes on top.
 */
export async function createServiceApp(options: ServiceAppOptions): Promise<App> {
  const { http } = options
  const secure = securityHeaders(options.resourcePolicy ?? 'same-site')
  const app = Fastify<Server>(
    serverOptions({ http, bodyLimit: options.bodyLimit, logger: options.logger, securityHeaders: secure }),
  ).withTypeProvider<TypeBoxTypeProvider>()

  await app.register(jsonBodies)
  await app.register(requestClientIp, { trustProxy: http.trustProxy })
  await app.register(responseHeaders, { securityHeaders: secure })
  await app.register(gracefulClose)
  await app.register(errorHandling)
  await app.register(metricsPlugin, { service: options.name, listen: http.metrics, gauges: options.gauges })
  await app.register(overloadProtection, http.overload)
  await app.register(corsPolicy, { origins: http.corsOrigins })
  await app.register(rateLimiting, { config: http.rateLimit, redisUrl: http.redisUrl, name: options.name })
  await app.register(openApiDocs, {
    title: options.title,
    description: options.description,
    version: options.version,
  })
  await app.register(healthRoutes, { ready: options.ready })
  return app
}

export type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
