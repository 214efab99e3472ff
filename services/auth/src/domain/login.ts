import { AppError } from '@bio/contracts'
import type { UserRow } from '../db/schema.js'
import { usersRepository } from '../db/users-repository.js'
import { AuthErrors } from '../errors.js'
import type { LoginBody } from '../schemas/auth.js'
import { audit } from './audit.js'
import type { AuthDeps, RequestContext, SignedIn } from './context.js'
import { issueDeviceToken } from './known-device.js'
import { accountLocked, createLoginThrottle, throttleKeys } from './login-throttle.js'
import type { PasswordHasher } from './password-hasher.js'
import { toStandardOrder } from './phc-argon2.js'
import { issueTokens } from './session-issuer.js'

const STATUS_ERRORS: Partial<Record<UserRow['status'], typeof AuthErrors.ACCOUNT_SUSPENDED>> = {
  SUSPENDED: AuthErrors.ACCOUNT_SUSPENDED,
  DEACTIVATED: AuthErrors.ACCOUNT_DEACTIVATED,
  BANNED: AuthErrors.INVALID_CREDENTIALS,
  DELETED: AuthErrors.INVALID_CREDENTIALS,
}

/**
 * The hash to store after a successful sign-in, if the stored one is due for a change: an
 * old-order hash with the current parameters is only reordered (no second argon2 run); anything
 * else is hashed again.
 */
async function upgradedHash(hasher: PasswordHasher, stored: string, password: string) {
  if (!hasher.needsRehash(stored)) return undefined
  const reordered = toStandardOrder(stored)
  if (reordered !== stored && !hasher.needsRehash(reordered)) return reordered
  return hasher.hash(password)
}

/**
 * Verifies e-mail + password. Every attempt, for a known e-mail or not, does the same work in the
 * same order: take an attempt from the throttle, look the user up (then be refused, ACCOUNT_LOCKED,
 * if the throttle said so), verify one argon2 hash (the user's, or a dummy one), record the audit event, then answer. So an
 * unknown e-mail and a wrong password give the same INVALID_CREDENTIALS at the same cost, and the
 * throttle treats both alike. The account's status is only revealed to someone who knows the
 * password.
 */
export function createLogin(deps: AuthDeps) {
  const dummyHash = deps.hasher.hash('dummy-password-for-timing')
  const throttle = createLoginThrottle(deps)

  async function login(input: LoginBody, ctx: RequestContext): Promise<SignedIn> {
    const now = deps.now()
    const { email } = input
    const secret = deps.config.loginThrottleSecret
    const keys = throttleKeys(secret, email, ctx.ip, ctx.deviceToken)
    const attempt = await throttle.takeAttempt(keys, now)
    // Looked up on a refusal too (for the audit event), so a locked known e-mail and a locked
    // unknown one still cost the same.
    const user = await usersRepository(deps.db).findByEmail(email)
    if (!attempt.allowed) {
      await audit(deps, deps.db, ctx, 'auth.login.locked', user?.id ?? null, {
        retryAfterSeconds: attempt.retryAfterSeconds,
      })
      throw accountLocked(attempt.retryAfterSeconds)
    }

    const hash = user?.passwordHash ?? (await dummyHash)
    const verified = await deps.hasher.verify(hash, input.password)
    if (!user?.passwordHash || !verified) {
      await audit(deps, deps.db, ctx, 'auth.login.failure', user?.id ?? null, {
        reason: user?.passwordHash ? 'wrong_password' : 'unknown_email',
      })
      throw new AppError(AuthErrors.INVALID_CREDENTIALS)
    }
    const statusError = STATUS_ERRORS[user.status]
    if (statusError) throw new AppError(statusError)

    const rehash = await upgradedHash(deps.hasher, user.passwordHash, input.password)
    const tokens = await deps.db.transaction(async (tx) => {
      await usersRepository(tx).recordSuccessfulLogin(user.id, now, rehash)
      await throttle.recordSuccess(tx, keys, now)
      const issued = await issueTokens(deps, tx, user.id, ctx)
      await audit(deps, tx, ctx, 'auth.login.success', user.id, { sessionId: issued.sessionId })
      return issued
    })
    const device = issueDeviceToken(secret, email, ctx.deviceToken)
    return { accessToken: tokens.accessToken, expiresIn: tokens.expiresIn, refresh: tokens.refresh, device }
  }

  /** Resolves once the dummy hash exists (and with it libuv's thread pool). */
  const warmUp = dummyHash.then(() => undefined)
  return { login, warmUp }
}
