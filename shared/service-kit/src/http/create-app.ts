import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import { AppError, CommonErrors, ErrorEnvelope, ok } from '@bio/contracts'
import cors from '@fastify/cors'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyServerOptions,
  LogController,
} from 'fastify'
import type { HttpConfig } from '../config/common-env.js'
import { clientErrorHandler } from './client-errors.js'
import { clientIp, proxyTrust } from './client-ip.js'
import { correlationId, REQUEST_ID_HEADER } from './correlation-id.js'
import { errorHandling, sendError, toAppError } from './error-handler.js'
import { useJsonBodies } from './json-body.js'
import { serializeError } from './log-serializers.js'
import { type MetricsOptions, metricsPlugin } from './metrics.js'
import { overloadProtection } from './overload.js'
import { rateLimiting } from './rate-limit.js'
import { documentSecurityHeaders, type ResourcePolicy, securityHeaders } from './security-headers.js'

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

/** Paths whose values never reach a log line. */
export const LOG_REDACT = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  'password',
  'accessToken',
  'refreshToken',
  '*.password',
  '*.accessToken',
  '*.refreshToken',
]

export function loggerOptions(http: HttpConfig): FastifyServerOptions['logger'] {
  return {
    level: http.logLevel,
    redact: { paths: LOG_REDACT, censor: '[redacted]' },
    serializers: { err: serializeError },
    ...(http.pretty
      ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l' } } }
      : {}),
  }
}

/**
 * A Fastify instance with the project's HTTP conventions: correlation ids, the error envelope,
 * strict validation (no coercion, no silent stripping, every problem reported), security headers,
 * CORS for the allow-list, rate limiting, Prometheus metrics (on their own listener), OpenAPI 3.1 at /openapi.json with docs at /docs, and
 * /healthz + /readyz. Each service registers its own routes on top.
 */
export async function createServiceApp(options: ServiceAppOptions): Promise<App> {
  const { http } = options
  const secure = securityHeaders(options.resourcePolicy ?? 'same-site')
  const app = Fastify<Server>({
    logger: options.logger ?? loggerOptions(http),
    genReqId: correlationId,
    requestIdHeader: false,
    logController: new LogController({ requestIdLogLabel: 'correlationId' }),
    // A hop count is valid at run time (proxy-addr); Fastify's types only list the other forms.
    trustProxy: http.trustProxy as boolean | string[],
    bodyLimit: options.bodyLimit,
    // Requests on kept-alive connections during shutdown get the 503 envelope from the first onRequest hook.
    return503OnClosing: false,
    // Errors Fastify raises before routing (a path parameter over the limit, a malformed
    // %-escape) go through the same mapping as everything else.
    frameworkErrors: (err, req, reply) => {
      // No hook runs for these: the security headers are set here.
      reply.headers(secure)
      sendError(req, reply, toAppError(err) ?? new AppError(CommonErrors.BAD_REQUEST))
    },
    clientErrorHandler: clientErrorHandler(secure),
    // A connection must deliver its headers, then its whole request, in time; an idle kept-alive
    // one is closed. Node checks the first two every `connectionsCheckingInterval`.
    requestTimeout: http.timeouts.requestMs,
    keepAliveTimeout: http.timeouts.keepAliveMs,
    http: {
      headersTimeout: http.timeouts.headersMs,
      connectionsCheckingInterval: Math.min(1000, Math.ceil(http.timeouts.headersMs / 4)),
    },
    routerOptions: { maxParamLength: 200 },
    ajv: {
      customOptions: { removeAdditional: false, coerceTypes: false, allErrors: true, useDefaults: true },
    },
  }).withTypeProvider<TypeBoxTypeProvider>()

  useJsonBodies(app)
  const trusted = proxyTrust(http.trustProxy)
  app.decorateRequest('clientIp', {
    getter() {
      return clientIp(this, trusted)
    },
  })
  let closing = false
  app.addHook('preClose', async () => {
    closing = true
  })
  // The per-request hooks below take a callback rather than returning a promise: they run on
  // every request, and an async hook costs a promise and a microtask hop each time.
  app.addHook('onRequest', (req, reply, done) => {
    reply.header(REQUEST_ID_HEADER, req.id)
    // First, so that every answer has them: the 503 of a closing app was sent before a later hook ran.
    reply.headers(secure)
    if (closing) {
      reply.header('connection', 'close')
      done(new AppError(CommonErrors.SERVICE_UNAVAILABLE, { headers: { 'retry-after': '1' } }))
      return
    }
    done()
  })
  app.addHook('onSend', (_req, reply, payload, done) => {
    // A request that was in flight when close() began must close its kept-alive connection too:
    // server.close() only reaps connections that are idle at that moment, so one that answers
    // later would hold the shutdown open for the keep-alive timeout.
    if (closing) reply.header('connection', 'close')
    // HTML documents (the docs UI and its static pages) get the document-only headers too.
    const type = reply.getHeader('content-type')
    if (typeof type === 'string' && type.startsWith('text/html')) reply.headers(documentSecurityHeaders)
    done(null, payload)
  })
  await app.register(errorHandling)
  await app.register(metricsPlugin, {
    service: options.name,
    listen: http.metrics,
    gauges: options.gauges,
  })
  await app.register(overloadProtection, http.overload)
  await app.register(cors, {
    origin: http.corsOrigins.length > 0 ? http.corsOrigins : false,
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
  await app.register(rateLimiting, {
    config: http.rateLimit,
    redisUrl: http.redisUrl,
    name: options.name,
  })
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: options.title, description: options.description, version: options.version },
      components: {
        securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      },
    },
  })
  // staticCSP: the docs pages carry their own CSP in place of the API's `default-src 'none'`.
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true })

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger())
  app.get(
    '/healthz',
    {
      schema: {
        tags: ['health'],
        operationId: 'healthz',
        summary: 'Liveness: the process is up',
        response: { 200: ok(Type.Object({ status: Type.Literal('ok') })) },
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
        response: { 200: ok(Type.Object({ status: Type.Literal('ready') })), 503: ErrorEnvelope },
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
  return app
}
export type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
