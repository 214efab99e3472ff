import { AppError, CommonErrors } from '@bio/contracts'
import { mailOutboxRepository } from '../db/mail-outbox-repository.js'
import { refreshSessionsRepository } from '../db/refresh-sessions-repository.js'
import { usersRepository } from '../db/users-repository.js'
import { AuthErrors } from '../errors.js'
import { audit } from './audit.js'
import type { AuthDeps, RequestContext } from './context.js'
import { accountLocked, createLoginThrottle, throttleKeys } from './login-throttle.js'

export interface Caller {
  userId: string
  /** The access token's refresh session: the one session that stays signed in. */
  sessionId: string
}

/**
 * Changes the password of a signed-in user who knows the current one. A wrong current password
 * counts towards the lockout (this route must not be a way around it). On success, in one
 * transaction: the new hash, every other session revoked, the notice queued, the event recorded.
 */
export async function changePassword(
  deps: AuthDeps,
  caller: Caller,
  input: { currentPassword: string; newPassword: string },
  ctx: RequestContext,
): Promise<void> {
  const now = deps.now()
  const user = await usersRepository(deps.db).findById(caller.userId)
  if (!user?.passwordHash || user.status !== 'ACTIVE') throw new AppError(CommonErrors.AUTH_UNAUTHORIZED)
  // The current password is a sign-in attempt like any other: counted by the same throttle first.
  const throttle = createLoginThrottle(deps)
  const keys = throttleKeys(deps.config.loginThrottleSecret, user.email, ctx.ip, ctx.deviceToken)
  const attempt = await throttle.takeAttempt(keys, now)
  if (!attempt.allowed) throw accountLocked(attempt.retryAfterSeconds)
  if (!(await deps.hasher.verify(user.passwordHash, input.currentPassword)))
    throw new AppError(AuthErrors.CHANGE_PASSWORD_INVALID_CURRENT)
  if (input.newPassword === input.currentPassword)
    throw new AppError(AuthErrors.CHANGE_PASSWORD_SAME_AS_CURRENT)
  const passwordHash = await deps.hasher.hash(input.newPassword)
  await deps.db.transaction(async (tx) => {
    await usersRepository(tx).setPasswordHash(user.id, passwordHash, now)
    await throttle.recordSuccess(tx, keys, now)
    const revoked = await refreshSessionsRepository(tx).revokeAllExcept(user.id, caller.sessionId, now)
    await mailOutboxRepository(tx).enqueue({ kind: 'password_changed', userId: user.id }, now)
    await audit(deps, tx, ctx, 'auth.password.changed', user.id, { sessionsRevoked: revoked })
  })
  deps.wakeMailer()
}
