import { AppError, type LoginBody } from '@bio/shared'
import type { UserRow } from '../db/schema.js'
import { usersRepository } from '../db/users-repository.js'
import { AuthErrors } from '../errors.js'
import { normalizeEmail } from '../lib/email-policy.js'
import { audit } from './audit.js'
import type { AuthDeps, IssuedTokens, RequestContext } from './context.js'
import { issueTokens } from './session-issuer.js'

const STATUS_ERRORS: Partial<Record<UserRow['status'], typeof AuthErrors.ACCOUNT_SUSPENDED>> = {
  SUSPENDED: AuthErrors.ACCOUNT_SUSPENDED,
  DEACTIVATED: AuthErrors.ACCOUNT_DEACTIVATED,
  BANNED: AuthErrors.INVALID_CREDENTIALS,
  DELETED: AuthErrors.INVALID_CREDENTIALS,
}

/**
 * Verifies e-mail + password. An unknown e-mail is verified against a dummy hash so that it costs
 * what a wrong password costs, and both give the same INVALID_CREDENTIALS. Failures count towards
 * a lockout; the account's status is only revealed to someone who knows the password.
 */
export function createLogin(deps: AuthDeps) {
  const dummyHash = deps.hasher.hash('dummy-password-for-timing')

  async function login(input: LoginBody, ctx: RequestContext): Promise<IssuedTokens> {
    const now = deps.now()
    const users = usersRepository(deps.db)
    const user = await users.findByEmail(normalizeEmail(input.email))
    if (!user?.passwordHash) {
      await deps.hasher.verify(await dummyHash, input.password)
      await audit(deps, deps.db, ctx, 'auth.login.failure', null, { reason: 'unknown_email' })
      throw new AppError(AuthErrors.INVALID_CREDENTIALS)
    }
    if (user.lockedUntil && user.lockedUntil > now) {
      const retryAfterSeconds = Math.ceil((user.lockedUntil.getTime() - now.getTime()) / 1000)
      await audit(deps, deps.db, ctx, 'auth.login.failure', user.id, { reason: 'locked' })
      throw new AppError(AuthErrors.ACCOUNT_LOCKED, { i18nVars: { retryAfterSeconds } })
    }
    if (!(await deps.hasher.verify(user.passwordHash, input.password))) {
      const { threshold, seconds } = deps.config.lockout
      await deps.db.transaction(async (tx) => {
        const locked = await usersRepository(tx).recordFailedLogin(
          user.id,
          threshold,
          new Date(now.getTime() + seconds * 1000),
        )
        await audit(deps, tx, ctx, 'auth.login.failure', user.id, { reason: 'wrong_password' })
        if (locked) await audit(deps, tx, ctx, 'auth.login.locked', user.id, { seconds })
      })
      throw new AppError(AuthErrors.INVALID_CREDENTIALS)
    }
    const statusError = STATUS_ERRORS[user.status]
    if (statusError) throw new AppError(statusError)

    const rehash = deps.hasher.needsRehash(user.passwordHash)
      ? await deps.hasher.hash(input.password)
      : undefined
    const tokens = await deps.db.transaction(async (tx) => {
      await usersRepository(tx).recordSuccessfulLogin(user.id, now, rehash)
      const issued = await issueTokens(deps, tx, user.id, ctx)
      await audit(deps, tx, ctx, 'auth.login.success', user.id, { sessionId: issued.sessionId })
      return issued
    })
    return { accessToken: tokens.accessToken, expiresIn: tokens.expiresIn, refresh: tokens.refresh }
  }

  /** Resolves once the dummy hash exists (and with it libuv's thread pool). */
  const warmUp = dummyHash.then(() => undefined)
  return { login, warmUp }
}
