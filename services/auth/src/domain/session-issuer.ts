import type { Db } from '@bio/service-kit'
import { refreshSessionsRepository } from '../db/refresh-sessions-repository.js'
import type { AuthSchema } from '../db/schema.js'
import { maskIp, userAgentOf } from '../lib/client-info.js'
import type { AuthDeps, IssuedTokens, RequestContext } from './context.js'
import { hashRefreshToken, newRefreshToken } from './refresh-token.js'

/**
 * Creates a refresh session (inside the caller's transaction) and signs the access token bound to
 * it. Returns the session id too, so a rotation can link the old session to the new one.
 */
export async function issueTokens(
  deps: AuthDeps,
  tx: Db<AuthSchema>,
  userId: string,
  ctx: RequestContext,
): Promise<IssuedTokens & { sessionId: string }> {
  const now = deps.now()
  const ttl = deps.config.tokens.refreshTtlSeconds
  const token = newRefreshToken()
  const sessionId = await refreshSessionsRepository(tx).insert({
    userId,
    tokenHash: hashRefreshToken(token),
    userAgent: userAgentOf(ctx.userAgent),
    ipMasked: maskIp(ctx.ip),
    createdAt: now,
    lastActiveAt: now,
    expiresAt: new Date(now.getTime() + ttl * 1000),
  })
  const { accessToken, expiresIn } = deps.sign({ userId, sessionId })
  return { accessToken, expiresIn, sessionId, refresh: { token, maxAgeSeconds: ttl } }
}
