import { AppError, type Db } from '@bio/shared'
import type { AuthSchema, UserRow } from '../db/schema.js'
import { usersRepository } from '../db/users-repository.js'
import { AuthErrors } from '../errors.js'
import type { AuthDeps } from './context.js'

/**
 * The password-guessing lockout, as seen by the routes other than login (change-password,
 * reset-password). One function per rule, so the lockout model can change behind them.
 */

/** Throws ACCOUNT_LOCKED while the account is locked. */
export function assertNotLockedOut(user: UserRow, now: Date): void {
  if (user.lockedUntil && user.lockedUntil > now) {
    const retryAfterSeconds = Math.ceil((user.lockedUntil.getTime() - now.getTime()) / 1000)
    throw new AppError(AuthErrors.ACCOUNT_LOCKED, { i18nVars: { retryAfterSeconds } })
  }
}

/** Counts a wrong password towards the lockout; true when it locked the account. */
export function recordFailedPasswordAttempt(
  deps: Pick<AuthDeps, 'config' | 'now'>,
  db: Db<AuthSchema>,
  userId: string,
): Promise<boolean> {
  const { threshold, seconds } = deps.config.lockout
  return usersRepository(db).recordFailedLogin(
    userId,
    threshold,
    new Date(deps.now().getTime() + seconds * 1000),
  )
}

/** Clears the failure count and any lock (a completed password reset). */
export function clearLoginFailures(db: Db<AuthSchema>, userId: string): Promise<void> {
  return usersRepository(db).clearLoginFailures(userId)
}
