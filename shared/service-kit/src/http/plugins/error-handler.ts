import { AppError, CommonErrors, type ErrorDetail, errorBody, isAppError } from '@bio/contracts'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { isUnavailable } from '../../db/pg-errors.js'
import { REQUEST_ID_HEADER } from '../correlation-id.js'

interface AjvIssue {
  keyword: string
  instancePath: string
  message?: string
  params: Record<string, unknown>
}

const toField = (context: string | undefined, path: string, extra?: unknown): string => {
  const parts = path
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
  if (typeof extra === 'string') parts.push(extra)
  const joined = parts.join('.')
  return context && context !== 'body' ? (joined ? `${context}.${joined}` : context) : joined
}

/** Every validation problem as `{ field, message, rule }`. */
export function validationDetails(issues: AjvIssue[], context?: string): ErrorDetail[] {
  return issues.map((issue) => {
    if (issue.keyword === 'required') {
      return {
        field: toField(context, issue.instancePath, issue.params.missingProperty),
        message: 'is required',
        rule: 'required',
      }
    }
    if (issue.keyword === 'additionalProperties') {
      return {
        field: toField(context, issue.instancePath, issue.params.additionalProperty),
        message: 'is not allowed',
        rule: 'additionalProperties',
      }
    }
    const field = toField(context, issue.instancePath)
    return { ...(field ? { field } : {}), message: issue.message ?? 'is invalid', rule: issue.keyword }
  })
}

const FASTIFY_BODY_ERRORS = new Set([
  'FST_ERR_CTP_EMPTY_JSON_BODY',
  'FST_ERR_CTP_INVALID_JSON_BODY',
  'FST_ERR_CTP_INVALID_CONTENT_LENGTH',
  'FST_ERR_CTP_EMPTY_TYPE',
  'FST_ERR_CTP_INVALID_TYPE',
])

/** Maps anything thrown in a request to an AppError; `null` means "unexpected: 500". */
export function toAppError(err: FastifyError | Error): AppError | null {
  if (isAppError(err)) return err
  const fe = err as FastifyError & { validation?: AjvIssue[]; validationContext?: string }
  if (fe.validation) {
    return new AppError(CommonErrors.VALIDATION_FAILED, {
      details: validationDetails(fe.validation, fe.validationContext),
    })
  }
  if (isUnavailable(err))
    return new AppError(CommonErrors.SERVICE_UNAVAILABLE, { headers: { 'retry-after': '5' } })
  if (err instanceof SyntaxError || FASTIFY_BODY_ERRORS.has(fe.code))
    return new AppError(CommonErrors.MALFORMED_BODY)
  // A static-file path that escapes its root (`/docs/static/%2e%2e/...`) is simply not there.
  if (fe.code === 'FST_STATIC_FORBIDDEN_PATH') return new AppError(CommonErrors.NOT_FOUND)
  switch (fe.statusCode) {
    case 400:
      return new AppError(CommonErrors.MALFORMED_BODY)
    case 403:
      return new AppError(CommonErrors.FORBIDDEN)
    case 404:
      return new AppError(CommonErrors.NOT_FOUND)
    case 405:
      return new AppError(CommonErrors.METHOD_NOT_ALLOWED)
    case 414:
      return new AppError(CommonErrors.URI_TOO_LONG)
    case 413:
      return new AppError(CommonErrors.PAYLOAD_TOO_LARGE)
    case 415:
      return new AppError(CommonErrors.UNSUPPORTED_MEDIA_TYPE)
    case 429:
      return new AppError(CommonErrors.RATE_LIMITED)
    case 503:
      return new AppError(CommonErrors.SERVICE_UNAVAILABLE)
    default:
      return null
  }
}

export function sendError(req: FastifyRequest, reply: FastifyReply, error: AppError): FastifyReply {
  const body = errorBody(error, req.id)
  if (error.headers) reply.headers(error.headers)
  // Also here, for errors raised before the onRequest hooks ran (framework errors).
  reply.header(REQUEST_ID_HEADER, req.id)
  return reply.code(error.statusCode).type('application/json; charset=utf-8').send(body)
}

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const

function allowedMethods(app: FastifyInstance, url: string): string[] {
  const path = url.split('?')[0] ?? '/'
  return METHODS.filter((method) => app.findRoute({ method, url: path }) !== null)
}

/**
 * The single place that turns errors into the envelope: validation failures, parser errors,
 * rate-limit rejections, 404/405, database outages (503) and unexpected errors (500, logged with
 * the cause, answered with a generic message). Clients never see SQL, stacks or library text.
 */
export const errorHandling = fp(
  async (app) => {
    app.setErrorHandler((err: FastifyError, req, reply) => {
      const mapped = toAppError(err)
      if (mapped) {
        if (mapped.statusCode >= 500) req.log.warn({ err }, 'request failed: %s', mapped.code)
        return sendError(req, reply, mapped)
      }
      req.log.error({ err }, 'unhandled error')
      return sendError(req, reply, new AppError(CommonErrors.INTERNAL))
    })
    app.setNotFoundHandler((req, reply) => {
      const allow = allowedMethods(app, req.url)
      // A route of this very method that found nothing (a missing static file) is a 404, not a 405.
      const method = req.method === 'HEAD' ? 'GET' : req.method
      if (allow.length > 0 && !allow.includes(method)) {
        reply.header('allow', allow.join(', '))
        return sendError(req, reply, new AppError(CommonErrors.METHOD_NOT_ALLOWED))
      }
      return sendError(req, reply, new AppError(CommonErrors.NOT_FOUND))
    })
  },
  { name: 'error-handling', fastify: '5.x' },
)
