/** Why a token was refused; the i18n keys are the ones the API contract lists. */
export type AccessTokenFailure = 'missing' | 'invalid' | 'expired'

const MESSAGES: Record<AccessTokenFailure, string> = {
  missing: 'Missing bearer access token',
  invalid: 'Invalid access token',
  expired: 'Access token expired',
}

/** The error envelope of the API contract, as this package answers it. */
export interface AccessTokenErrorEnvelope {
  success: false
  error: { code: 'AUTH_UNAUTHORIZED'; message: string; i18nKey: string; correlationId: string }
}

/**
 * The one error this package throws (plain function) and answers with (Fastify plugin): a 401
 * `AUTH_UNAUTHORIZED` with `WWW-Authenticate: Bearer` (RFC 6750). Its message never carries a
 * library's text; the cause, when there is one, stays on `cause` for logs.
 */
export class AccessTokenError extends Error {
  readonly code = 'AUTH_UNAUTHORIZED'
  readonly statusCode = 401
  readonly failure: AccessTokenFailure
  readonly i18nKey: string
  readonly headers: Readonly<Record<string, string>>

  constructor(failure: AccessTokenFailure, options: { cause?: unknown } = {}) {
    super(MESSAGES[failure], options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'AccessTokenError'
    this.failure = failure
    this.i18nKey = `auth.token.${failure}`
    // RFC 6750 §3.1: no error code when the request carried no token at all.
    this.headers = {
      'www-authenticate':
        failure === 'missing'
          ? 'Bearer'
          : `Bearer error="invalid_token", error_description="${this.message}"`,
    }
  }

  /** The response body, in the API's error envelope. */
  toEnvelope(correlationId: string): AccessTokenErrorEnvelope {
    return {
      success: false,
      error: { code: this.code, message: this.message, i18nKey: this.i18nKey, correlationId },
    }
  }
}

export const isAccessTokenError = (err: unknown): err is AccessTokenError => err instanceof AccessTokenError
