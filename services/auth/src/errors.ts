import { defineErrors } from '@bio/contracts'

/** The auth service's own errors; the shared CommonErrors cover the rest. */
export const AuthErrors = defineErrors({
  REGISTRATION_CLOSED: { status: 403, message: 'Registration is closed', i18nKey: 'auth.register.closed' },
  EMAIL_TAKEN: {
    status: 409,
    message: 'This e-mail is already registered',
    i18nKey: 'auth.register.email_taken',
  },
  USERNAME_TAKEN: { status: 409, message: 'This username is taken', i18nKey: 'auth.register.username_taken' },
  USERNAME_RESERVED: {
    status: 409,
    message: 'This username is reserved',
    i18nKey: 'auth.register.username_reserved',
  },
  DISPOSABLE_EMAIL: {
    status: 400,
    message: 'Disposable e-mail addresses are not accepted',
    i18nKey: 'auth.register.disposable_email',
  },
  UNSUPPORTED_LOCALE: {
    status: 400,
    message: 'This locale is not supported',
    i18nKey: 'auth.register.unsupported_locale',
  },
  INVALID_CREDENTIALS: {
    status: 401,
    message: 'Invalid credentials',
    i18nKey: 'auth.login.invalid_credentials',
  },
  ACCOUNT_LOCKED: {
    status: 401,
    message: 'Too many failed sign-in attempts; try again later',
    i18nKey: 'auth.login.account_locked',
  },
  ACCOUNT_SUSPENDED: {
    status: 401,
    message: 'This account is suspended',
    i18nKey: 'auth.login.account_suspended',
  },
  ACCOUNT_DEACTIVATED: {
    status: 401,
    message: 'This account is deactivated',
    i18nKey: 'auth.login.account_deactivated',
  },
  INVALID_REFRESH_TOKEN: {
    status: 401,
    message: 'The refresh token is invalid or expired',
    i18nKey: 'auth.refresh.invalid_token',
  },
  REFRESH_TOKEN_REUSED: {
    status: 401,
    message: 'This refresh token was already used; every session of the account was signed out',
    i18nKey: 'auth.refresh.token_reuse_detected',
  },
  REFRESH_ACCOUNT_SUSPENDED: {
    status: 401,
    message: 'This account cannot be refreshed',
    i18nKey: 'auth.refresh.account_suspended',
  },
  VERIFY_EMAIL_INVALID_TOKEN: {
    status: 400,
    message: 'The verification link is invalid or expired',
    i18nKey: 'auth.verify_email.invalid_token',
  },
  RESET_PASSWORD_INVALID_TOKEN: {
    status: 400,
    message: 'The reset link is invalid, used or expired',
    i18nKey: 'auth.reset_password.invalid_token',
  },
  CHANGE_PASSWORD_INVALID_CURRENT: {
    status: 401,
    message: 'The current password is wrong',
    i18nKey: 'auth.change_password.invalid_current',
  },
  CHANGE_PASSWORD_SAME_AS_CURRENT: {
    status: 400,
    message: 'The new password must differ from the current one',
    i18nKey: 'auth.change_password.same_as_current',
  },
  SESSION_CANNOT_REVOKE_CURRENT: {
    status: 400,
    message: 'The current session cannot be revoked here; sign out instead',
    i18nKey: 'auth.sessions.cannot_revoke_current',
  },
  SESSION_NOT_FOUND: { status: 404, message: 'No such session', i18nKey: 'auth.sessions.not_found' },
})
