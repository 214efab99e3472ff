import type { ErrorEnvelope } from '../envelope.js'
import type { AppError } from './app-error.js'

/**
 * The error envelope of an answer: the one renderer of `{ success: false, error }`, used by the
 * service kit's error handler, Node's client-error answers and the token verifier's plugin.
 */
export function errorBody(error: AppError, correlationId: string): ErrorEnvelope {
  return {
    success: false,
    error: {
      code: error.code,
      message: error.message,
      i18nKey: error.i18nKey,
      ...(error.i18nVars ? { i18nVars: error.i18nVars } : {}),
      ...(error.details ? { details: error.details } : {}),
      correlationId,
    },
  }
}
