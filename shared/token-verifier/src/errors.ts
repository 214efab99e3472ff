import { AppError, type ErrorEnvelope, errorBody } from '@bio/contracts'

/** Why a token was refused; the i18n keys are the ones the API contract lists. */
export type AccessTokenFailure = 'missing' | 'invalid' | 'expired'

const MESSAGES: Record<AccessTokenFailure, string> = {
  missing: 'Missing bearer access token',
  invalid: 'Invalid access token',
  expired: 'Access token expired',
}

/** RFC 6750 §3.1: no error code when the request carried no token at all. */
const challenge = (failure: AccessTokenFailure) =>
  failure === 'missing' ? 'Bearer' : `Bearer error="invalid_token", error_description="${MESSAGES[failure]}"`

/**
 * The one error this package throws (plain function) and answers with (Fastify plugin): a 401
 * `AUTH_UNAUTHORIZED` with `WWW-Authenticate: Bearer` (RFC 6750). It is an `AppError` of
 * `@bio/contracts`, so a service's error handler renders it like any other, with the same
 * `errorBody` the plugin uses. Its message never carries a library's text; the cause, when there
 * is one, stays on `cause` for logs.
 */
export class AccessTokenError extends AppError {
  declare readonly code: 'AUTH_UNAUTHORIZED'
  declare readonly statusCode: 401
  declare readonly headers: Readonly<Record<string, string>>
  readonly failure: AccessTokenFailure

  constructor(failure: AccessTokenFailure, options: { cause?: unknown } = {}) {
    super(
      {
        code: 'AUTH_UNAUTHORIZED',
        status: 401,
        message: MESSAGES[failure],
        i18nKey: `auth.token.${failure}`,
      },
      { headers: { 'www-authenticate': challenge(failure) }, cause: options.cause },
    )
    this.name = 'AccessTokenError'
    this.failure = failure
  }

  /** The response body, in the API's error envelope (`errorBody` of `@bio/contracts`). */
  toEnvelope(correlationId: string): ErrorEnvelope {
    return errorBody(this, correlationId)
  }
}

export const isAccessTokenError = (err: unknown): err is AccessTokenError => err instanceof AccessTokenError
