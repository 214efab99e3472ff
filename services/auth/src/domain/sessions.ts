import { AppError } from '@bio/contracts'
import { refreshSessionsRepository } from '../db/refresh-sessions-repository.js'
import { AuthErrors } from '../errors.js'
import { deviceName } from '../lib/device-name.js'
import { audit } from './audit.js'
import type { AuthDeps, RequestContext } from './context.js'
import type { Caller } from './password-change.js'

export interface SessionView {
  id: string
  device: string | null
  ipMasked: string | null
  createdAt: string
  lastActiveAt: string
  isCurrent: boolean
}

/** The caller's live sessions; the one its access token belongs to says `isCurrent`. */
export async function listSessions(deps: AuthDeps, caller: Caller): Promise<SessionView[]> {
  const rows = await refreshSessionsRepository(deps.db).listActive(caller.userId, deps.now())
  return rows.map((s) => ({
    id: s.id,
    device: deviceName(s.userAgent),
    ipMasked: s.ipMasked,
    createdAt: s.createdAt.toISOString(),
    lastActiveAt: s.lastActiveAt.toISOString(),
    isCurrent: s.id === caller.sessionId,
  }))
}

/**
 * Revokes one of the caller's sessions. Its own is refused (logout is for that); an unknown id and
 * another user's session are the same 404, so ids of other users' sessions cannot be probed.
 */
export async function revokeSession(
  deps: AuthDeps,
  caller: Caller,
  id: string,
  ctx: RequestContext,
): Promise<void> {
  if (id.toLowerCase() === caller.sessionId.toLowerCase())
    throw new AppError(AuthErrors.SESSION_CANNOT_REVOKE_CURRENT)
  const now = deps.now()
  await deps.db.transaction(async (tx) => {
    if (!(await refreshSessionsRepository(tx).revokeOne(id, caller.userId, now)))
      throw new AppError(AuthErrors.SESSION_NOT_FOUND)
    await audit(deps, tx, ctx, 'auth.session.revoked', caller.userId, { sessionId: id })
  })
}

/** Revokes every session of the caller but the current one; returns how many. */
export async function revokeOtherSessions(
  deps: AuthDeps,
  caller: Caller,
  ctx: RequestContext,
): Promise<number> {
  const now = deps.now()
  return deps.db.transaction(async (tx) => {
    const revoked = await refreshSessionsRepository(tx).revokeAllExcept(caller.userId, caller.sessionId, now)
    await audit(deps, tx, ctx, 'auth.session.revoked', caller.userId, { scope: 'all_others', count: revoked })
    return revoked
  })
}
