import { AppError } from '@bio/contracts'
import { accountTokensRepository } from '../db/account-tokens-repository.js'
import { mailOutboxRepository } from '../db/mail-outbox-repository.js'
import { usersRepository } from '../db/users-repository.js'
import { AuthErrors } from '../errors.js'
import { hashAccountToken } from './account-token.js'
import { audit } from './audit.js'
import type { AuthDeps, RequestContext } from './context.js'

const invalid = () => new AppError(AuthErrors.VERIFY_EMAIL_INVALID_TOKEN)

/** True when the token's user is verified: a used token sent again succeeds (the contract's idempotency). */
async function alreadyVerified(deps: AuthDeps, userId: string): Promise<boolean> {
  return (await usersRepository(deps.db).findById(userId))?.emailVerified === true
}

/**
 * Consumes a verification token and marks the e-mail verified, in one transaction with its audit
 * event. Unknown, expired and superseded tokens are INVALID_TOKEN.
 */
export async function verifyEmail(deps: AuthDeps, token: string, ctx: RequestContext): Promise<void> {
  const now = deps.now()
  const row = await accountTokensRepository(deps.db).findByHash('verify_email', hashAccountToken(token))
  if (!row) throw invalid()
  if (row.usedAt) {
    if (await alreadyVerified(deps, row.userId)) return
    throw invalid()
  }
  if (row.invalidatedAt || row.expiresAt <= now) throw invalid()
  const consumed = await deps.db.transaction(async (tx) => {
    if (!(await accountTokensRepository(tx).consume(row.id, now))) return false
    await usersRepository(tx).markEmailVerified(row.userId, now)
    await audit(deps, tx, ctx, 'auth.email.verified', row.userId)
    return true
  })
  // A concurrent request consumed it first: the same answer as a second call.
  if (!consumed && !(await alreadyVerified(deps, row.userId))) throw invalid()
}

/**
 * Queues a verification mail for the address. The request does the same work for every address;
 * the sender decides whether an existing, active, unverified account gets the mail.
 */
export async function resendVerification(deps: AuthDeps, email: string): Promise<void> {
  await mailOutboxRepository(deps.db).enqueue({ kind: 'verify_email', requestedEmail: email }, deps.now())
  deps.wakeMailer()
}
