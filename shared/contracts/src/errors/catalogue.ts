import { defineErrors } from './app-error.js'

/** Errors every service can answer. Service catalogues add their own domain errors. */
export const CommonErrors = defineErrors({
  VALIDATION_FAILED: {
    status: 400,
    message: 'The request is not valid',
    i18nKey: 'common.validation_failed',
  },
  BAD_REQUEST: { status: 400, message: 'The request is malformed', i18nKey: 'common.bad_request' },
  MALFORMED_BODY: {
    status: 400,
    message: 'The request body could not be parsed',
    i18nKey: 'common.malformed_body',
  },
  AUTH_UNAUTHORIZED: { status: 401, message: 'Authentication required', i18nKey: 'auth.unauthorized' },
  FORBIDDEN: { status: 403, message: 'Not allowed', i18nKey: 'common.forbidden' },
  NOT_FOUND: { status: 404, message: 'Route not found', i18nKey: 'common.not_found' },
  METHOD_NOT_ALLOWED: { status: 405, message: 'Method not allowed', i18nKey: 'common.method_not_allowed' },
  REQUEST_TIMEOUT: {
    status: 408,
    message: 'The request did not arrive in time',
    i18nKey: 'common.request_timeout',
  },
  CONFLICT: { status: 409, message: 'Conflict', i18nKey: 'common.conflict' },
  PAYLOAD_TOO_LARGE: {
    status: 413,
    message: 'The request body is too large',
    i18nKey: 'common.payload_too_large',
  },
  UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    message: 'Unsupported content type',
    i18nKey: 'common.unsupported_media_type',
  },
  URI_TOO_LONG: { status: 414, message: 'The request path is too long', i18nKey: 'common.uri_too_long' },
  HEADERS_TOO_LARGE: {
    status: 431,
    message: 'The request headers are too large',
    i18nKey: 'common.headers_too_large',
  },
  RATE_LIMITED: { status: 429, message: 'Too many requests', i18nKey: 'common.rate_limited' },
  INTERNAL: { status: 500, message: 'Something went wrong', i18nKey: 'common.internal' },
  SERVICE_UNAVAILABLE: {
    status: 503,
    message: 'The service is temporarily unavailable',
    i18nKey: 'common.service_unavailable',
  },
})
