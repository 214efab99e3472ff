import { AppError } from '@bio/contracts'
import { mailOutboxRepository } from '../db/mail-outbox-repository.js'
import { usersRepository } from '../db/users-repository.js'
import { AuthErrors } from '../errors.js'
import { isDisposableEmail } from '../lib/email-policy.js'
import { resolveLocale } from '../lib/locale.js'
import { looksReserved } from '../lib/username-fold.js'
import type { RegisterBody } from '../schemas/auth.js'
import { audit } from './audit.js'
import type { AuthDeps, RequestContext, SignedIn } from './context.js'
import { issueDeviceToken } from './known-device.js'
import { newReferralCode } from './referral-code.js'
import { issueTokens } from './session-issuer.js'

/**
 * Creates an account and signs it in. Order: kill switch, e-mail policy, locale,
 * hash (outside the transaction: it is slow), then one transaction for the reserved-name check (names
 * compared by their look-alike skeleton, see username-fold.ts), the referral lookup, the user row,
 * the first refresh session, the verification mail and the audit event. Uniqueness is the
 * database's job:
 * two concurrent sign-ups with one e-mail give one user and one EMAIL_TAKEN.
 */
export async function register(
  deps: AuthDeps,
  input: RegisterBody,
  ctx: RequestContext,
): Promise<SignedIn & { userId: string }> {
  const { config } = deps
  if (!config.registrationEnabled) throw new AppError(AuthErrors.REGISTRATION_CLOSED)
  const { email, username } = input
  if (isDisposableEmail(email)) {
    throw new AppError(AuthErrors.DISPOSABLE_EMAIL, {
      details: [{ field: 'email', message: 'disposable domain' }],
    })
  }
  const locale = resolveLocale(
    input.locale,
    ctx.acceptLanguage,
    config.locales.supported,
    config.locales.fallback,
  )
  if (locale === undefined) {
    throw new AppError(AuthErrors.UNSUPPORTED_LOCALE, {
      details: [{ field: 'locale', message: `must be one of: ${config.locales.supported.join(', ')}` }],
    })
  }
  const passwordHash = await deps.hasher.hash(input.password)
  const now = deps.now()

  const result = await deps.db.transaction(async (tx) => {
    const users = usersRepository(tx)
    if (username && looksReserved(username, await users.reservedUsernames())) {
      throw new AppError(AuthErrors.USERNAME_RESERVED)
    }
    const referredBy = input.referralCode
      ? ((await users.findIdByReferralCode(input.referralCode)) ?? null)
      : null
    const userId = await users.insert({
      email,
      passwordHash,
      username: username ?? null,
      displayName: input.displayName ?? null,
      locale,
      intent: input.intent ?? null,
      referralCode: newReferralCode(),
      referredBy,
      utmSource: input.utmSource ?? null,
      utmMedium: input.utmMedium ?? null,
      utmCampaign: input.utmCampaign ?? null,
      utmTerm: input.utmTerm ?? null,
      utmContent: input.utmContent ?? null,
      firstReferrerUrl: input.firstReferrerUrl ?? null,
      firstLandingPage: input.firstLandingPage ?? null,
      acquiredViaCreatorId: input.acquiredViaCreatorId ?? null,
      registrationDevice: ctx.userAgent?.slice(0, 512) ?? null,
      registrationCountry: deps.geo.lookup(ctx.ip).countryCode,
      termsVersion: config.policyVersions.terms,
      termsAcceptedAt: now,
      privacyVersion: config.policyVersions.privacy,
      privacyAcceptedAt: now,
      createdAt: now,
      updatedAt: now,
    })
    const tokens = await issueTokens(deps, tx, userId, ctx)
    await mailOutboxRepository(tx).enqueue({ kind: 'verify_email', userId }, now)
    await audit(deps, tx, ctx, 'auth.register.success', userId, { sessionId: tokens.sessionId })
    const { accessToken, expiresIn, refresh } = tokens
    const device = issueDeviceToken(config.loginThrottleSecret, email, ctx.deviceToken)
    return { userId, accessToken, expiresIn, refresh, device }
  })
  deps.wakeMailer()
  return result
}
