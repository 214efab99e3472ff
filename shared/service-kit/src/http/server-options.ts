import type { Server } from 'node:http'
import { AppError, CommonErrors } from '@bio/contracts'
import { type FastifyHttpOptions, type FastifyServerOptions, LogController } from 'fastify'
import type { HttpConfig } from '../config/common-env.js'
import { clientErrorHandler } from './client-errors.js'
import { correlationId } from './correlation-id.js'
import { serializeError } from './log-serializers.js'
import { sendError, toAppError } from './plugins/error-handler.js'

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

export interface ServerOptionsInput {
  http: HttpConfig
  bodyLimit: number
  logger?: FastifyServerOptions['logger']
  /** The security headers, for the answers Fastify and Node give before any hook runs. */
  securityHeaders: Readonly<Record<string, string>>
}

/**
 * The Fastify server options of every service: correlation ids, strict validation (no coercion,
 * no silent stripping, every problem reported), timeouts, and the envelope for the errors that
 * happen before routing (Fastify's) or before Fastify (Node's 400/408/431).
 */
export function serverOptions(input: ServerOptionsInput): FastifyHttpOptions<Server> {
  const { http, securityHeaders } = input
  return {
    logger: input.logger ?? loggerOptions(http),
    genReqId: correlationId,
    requestIdHeader: false,
    logController: new LogController({ requestIdLogLabel: 'correlationId' }),
    // A hop count is valid at run time (proxy-addr); Fastify's types only list the other forms.
    trustProxy: http.trustProxy as boolean | string[],
    bodyLimit: input.bodyLimit,
    // Requests on kept-alive connections during shutdown get the 503 envelope from the
    // graceful-close plugin instead.
    return503OnClosing: false,
    // Errors Fastify raises before routing (a path parameter over the limit, a malformed
    // %-escape) go through the same mapping as everything else.
    frameworkErrors: (err, req, reply) => {
      // No hook runs for these: the security headers are set here.
      reply.headers(securityHeaders)
      sendError(req, reply, toAppError(err) ?? new AppError(CommonErrors.BAD_REQUEST))
    },
    clientErrorHandler: clientErrorHandler(securityHeaders),
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
  }
}
