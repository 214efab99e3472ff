import { AppError } from '@bio/contracts'
import { mailOutboxRepository } from '../db/mail-outbox-repository.js'
import { refreshSessionsRepository } from '../db/refresh-sessions-repository.js'
import { usersRepository } from '../db/users-repository.js'
import { AuthErrors } from '../errors.js'
import { audit } from './audit.js'
import type { AuthDeps, RequestContext, SignedIn } from './context.js'
import { issueDeviceToken } from './known-device.js'
import { hashRefreshToken } from './refresh-token.js'
import { issueTokens } from './session-issuer.js'

class ConcurrentRotation extends Error {}

/**
 * A rotated token presented again. Within REFRESH_REUSE_GRACE_S of its rotation it is a benign race
 * (two tabs refreshing at once; the other tab's answer already set the new cookie): a plain 401.
 * Later it is reuse, a stolen copy or a replay: every session of the user is revoked.
 */
async function rotatedTokenUsed(
  deps: AuthDeps,
  userId: string,
  sessionId: string,
  rotatedAt: Date,
  ctx: RequestContext,
): Promise<never> {
  const age = deps.now().getTime() - rotatedAt.getTime()
  if (age < deps.config.tokens.reuseGraceSeconds * 1000) throw new AppError(AuthErrors.INVALID_REFRESH_TOKEN)
  return detectReuse(deps, userId, sessionId, ctx)
}

async function detectReuse(
  deps: AuthDeps,
  userId: string,
  sessionId: string,
  ctx: RequestContext,
): Promise<never> {
  const now = deps.now()
  // The revocation, the owner's security mail and the audit event commit together.
  const revoked = await deps.db.transaction(async (tx) => {
    const n = await refreshSessionsRepository(tx).revokeAllForUser(userId, now)
    await mailOutboxRepository(tx).enqueue({ kind: 'refresh_reuse', userId }, now)
    await audit(deps, tx, ctx, 'auth.refresh.reuse_detected', userId, { sessionId, revoked: n })
    return n
  })
  deps.wakeMailer()
  // The request's logger, so the warning carries the correlation id of the request that tripped it.
  const log = ctx.log ?? deps.log
  log.warn({ userId, sessionId, revoked }, 'refresh token reuse detected; all sessions revoked')
  throw new AppError(AuthErrors.REFRESH_TOKEN_REUSED)
}

/**
 * Exchanges a refresh token for a new pair. Every use rotates: the old session is marked
 * rotated and a new one issued, in one transaction. A token whose session was already rotated is
 * reuse (a stolen copy, or a replay) unless it is within the grace of a concurrent refresh.
 */
export async function rotateRefreshToken(
  deps: AuthDeps,
  token: string | undefined,
  ctx: RequestContext,
): Promise<SignedIn> {
  if (!token) throw new AppError(AuthErrors.INVALID_REFRESH_TOKEN)
  const now = deps.now()
  const session = await refreshSessionsRepository(deps.db).findByTokenHash(hashRefreshToken(token))
  if (!session) throw new AppError(AuthErrors.INVALID_REFRESH_TOKEN)
  if (session.rotatedAt) return rotatedTokenUsed(deps, session.userId, session.id, session.rotatedAt, ctx)
  if (session.revokedAt || session.expiresAt <= now) throw new AppError(AuthErrors.INVALID_REFRESH_TOKEN)
  const user = await usersRepository(deps.db).findById(session.userId)
  if (user?.status !== 'ACTIVE') throw new AppError(AuthErrors.REFRESH_ACCOUNT_SUSPENDED)

  try {
    const tokens = await deps.db.transaction(async (tx) => {
      const sessions = refreshSessionsRepository(tx)
      if (!(await sessions.claimForRotation(session.id, now))) throw new ConcurrentRotation()
      const issued = await issueTokens(deps, tx, session.userId, ctx)
      await sessions.setReplacedBy(session.id, issued.sessionId)
      return issued
    })
    const device = issueDeviceToken(deps.config.loginThrottleSecret, user.email, ctx.deviceToken)
    return { accessToken: tokens.accessToken, expiresIn: tokens.expiresIn, refresh: tokens.refresh, device }
  } catch (err) {
    // Another request rotated this token between our read and our claim: the same token, twice, just now.
    if (err instanceof ConcurrentRotation) return rotatedTokenUsed(deps, session.userId, session.id, now, ctx)
    throw err
  }
}

/** Revokes the presented token's session, if any. Idempotent: no token or an unknown one is fine. */
export async function logout(deps: AuthDeps, token: string | undefined, ctx: RequestContext): Promise<void> {
  if (!token) return
  const now = deps.now()
  await deps.db.transaction(async (tx) => {
    const userId = await refreshSessionsRepository(tx).revokeByTokenHash(hashRefreshToken(token), now)
    if (userId) await audit(deps, tx, ctx, 'auth.logout.success', userId)
  })
}
