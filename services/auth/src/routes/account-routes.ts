import { errorResponses, successBody, successSchema } from '@bio/contracts'
import { type FastifyPluginAsyncTypebox, HOUR } from '@bio/service-kit'
import type { AuthService } from '../domain/auth-service.js'
import {
  ChangePasswordBody,
  EmailBody,
  MessageResult,
  ResetPasswordBody,
  SuccessOnly,
  VerifyEmailBody,
} from '../schemas/auth.js'
import { callerOf, contextOf } from './request-context.js'

const done = { success: true as const }

/** E-mail verification, password reset and change (contract 3.7, 3.8). */
export const accountRoutes: FastifyPluginAsyncTypebox<{ service: AuthService }> = async (
  app,
  { service },
) => {
  app.post(
    '/verify-email',
    {
      config: { rateLimit: app.rateLimitFor('verifyEmail', { max: 20, timeWindow: HOUR }) },
      schema: {
        tags: ['auth'],
        operationId: 'verifyEmail',
        summary: 'Confirm the e-mail address with the mailed token',
        description:
          'Sets `emailVerified`. A used token sent again still succeeds while the account is verified; an unknown, expired or superseded one is 400 `auth.verify_email.invalid_token`.',
        body: VerifyEmailBody,
        response: { 200: SuccessOnly, ...errorResponses(400, 413, 415, 429, 503) },
      },
    },
    async (req) => {
      await service.verifyEmail(req.body.token, contextOf(req))
      return done
    },
  )

  app.post(
    '/resend-verification',
    {
      config: { rateLimit: app.rateLimitFor('resendVerification', { max: 5, timeWindow: HOUR }) },
      schema: {
        tags: ['auth'],
        operationId: 'resendVerification',
        summary: 'Send a new verification mail',
        description:
          'Always 200. A mail (with a new token that voids the older ones) goes only to an existing, active, unverified account.',
        body: EmailBody,
        response: { 200: successSchema(MessageResult), ...errorResponses(400, 413, 415, 429, 503) },
      },
    },
    async (req) => {
      await service.resendVerification(req.body.email)
      return successBody({ message: 'Verification email sent (if account exists)' })
    },
  )

  app.post(
    '/forgot-password',
    {
      config: { rateLimit: app.rateLimitFor('forgotPassword', { max: 5, timeWindow: HOUR }) },
      schema: {
        tags: ['auth'],
        operationId: 'forgotPassword',
        summary: 'Mail a password-reset link',
        description:
          'Always 200 with the same body and timing. An existing active account, verified or not, gets a link valid for PASSWORD_RESET_TTL_S.',
        body: EmailBody,
        response: { 200: successSchema(MessageResult), ...errorResponses(400, 413, 415, 429, 503) },
      },
    },
    async (req) => {
      await service.forgotPassword(req.body.email, contextOf(req))
      return successBody({ message: 'Password reset email sent (if account exists)' })
    },
  )

  app.post(
    '/reset-password',
    {
      config: { rateLimit: app.rateLimitFor('resetPassword', { max: 3, timeWindow: HOUR }) },
      schema: {
        tags: ['auth'],
        operationId: 'resetPassword',
        summary: 'Set a new password with the mailed token',
        description:
          'Revokes every session, clears the lockout, marks the e-mail verified and mails a notice. 400 `auth.reset_password.invalid_token` for a bad, used or expired token.',
        body: ResetPasswordBody,
        response: { 200: SuccessOnly, ...errorResponses(400, 413, 415, 429, 503) },
      },
    },
    async (req) => {
      await service.resetPassword(req.body.token, req.body.newPassword, contextOf(req))
      return done
    },
  )

  app.post(
    '/change-password',
    {
      preHandler: app.requireAuth,
      config: { rateLimit: app.rateLimitFor('changePassword', { max: 3, timeWindow: HOUR }) },
      schema: {
        tags: ['auth'],
        operationId: 'changePassword',
        summary: 'Change the password',
        description:
          'Revokes every session but the caller’s own and mails a notice. 401 `auth.change_password.invalid_current` (counts toward the lockout), 401 `auth.login.account_locked`, 400 `auth.change_password.same_as_current`.',
        security: [{ bearerAuth: [] }],
        body: ChangePasswordBody,
        response: { 200: SuccessOnly, ...errorResponses(400, 401, 413, 415, 429, 503) },
      },
    },
    async (req) => {
      await service.changePassword(callerOf(req), req.body, contextOf(req))
      return done
    },
  )
}
