import { AppError } from '@bio/contracts'
import { accountTokensRepository } from '../db/account-tokens-repository.js'
import { mailOutboxRepository } from '../db/mail-outbox-repository.js'
import { refreshSessionsRepository } from '../db/refresh-sessions-repository.js'
import { usersRepository } from '../db/users-repository.js'
import { AuthErrors } from '../errors.js'
import { hashAccountToken } from './account-token.js'
import { audit } from './audit.js'
import type { AuthDeps, RequestContext } from './context.js'
import { clearLoginFailures } from './login-throttle.js'

const invalid = () => new AppError(AuthErrors.RESET_PASSWORD_INVALID_TOKEN)

/**
 * Records the request and queues the reset mail. The statements are the same for every address
 * (one lookup, one transaction with one outbox row and one audit event) and SMTP is never
 * awaited, so the answer and its timing tell nothing about whether an account exists. The sender
 * decides off the request path: an existing active account gets a link, verified or not.
 */
export async function forgotPassword(deps: AuthDeps, email: string, ctx: RequestContext): Promise<void> {
  const now = deps.now()
  const user = await usersRepository(deps.db).findByEmail(email)
  await deps.db.transaction(async (tx) => {
    await mailOutboxRepository(tx).enqueue({ kind: 'reset_password', requestedEmail: email }, now)
    await audit(deps, tx, ctx, 'auth.password_reset.requested', user?.id ?? null)
  })
  deps.wakeMailer()
}

/**
 * Sets a new password from a mailed token. In one transaction: the token is consumed (and every
 * other reset link voided), the hash replaced, the e-mail marked verified (the link proved the
 * mailbox), the lockout cleared, every refresh session revoked, the notice queued, the event recorded.
 */
export async function resetPassword(
  deps: AuthDeps,
  token: string,
  newPassword: string,
  ctx: RequestContext,
): Promise<void> {
  const now = deps.now()
  const row = await accountTokensRepository(deps.db).findByHash('reset_password', hashAccountToken(token))
  if (!row || row.usedAt || row.invalidatedAt || row.expiresAt <= now) throw invalid()
  const user = await usersRepository(deps.db).findById(row.userId)
  if (user?.status !== 'ACTIVE') throw invalid()
  const passwordHash = await deps.hasher.hash(newPassword)
  await deps.db.transaction(async (tx) => {
    const tokens = accountTokensRepository(tx)
    if (!(await tokens.consume(row.id, now))) throw invalid()
    await tokens.invalidateAll(user.id, 'reset_password', now)
    await usersRepository(tx).setPasswordHash(user.id, passwordHash, now, true)
    await clearLoginFailures(tx, deps.config.loginThrottleSecret, user.email)
    const revoked = await refreshSessionsRepository(tx).revokeAllForUser(user.id, now)
    await mailOutboxRepository(tx).enqueue({ kind: 'password_changed', userId: user.id }, now)
    await audit(deps, tx, ctx, 'auth.password_reset.completed', user.id, { sessionsRevoked: revoked })
  })
  deps.wakeMailer()
}
