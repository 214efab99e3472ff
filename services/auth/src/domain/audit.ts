import type { Db } from '@bio/service-kit'
import { auditRepository } from '../db/audit-repository.js'
import type { AuditEventType, AuthSchema } from '../db/schema.js'
import { maskIp, userAgentOf } from '../lib/client-info.js'
import type { AuthDeps, RequestContext } from './context.js'

/**
 * Appends an audit event for the request in `ctx`, inside the caller's transaction `tx`: the
 * event exists exactly when the action committed. Only the masked IP is stored.
 */
export function audit(
  deps: Pick<AuthDeps, 'now'>,
  tx: Db<AuthSchema>,
  ctx: RequestContext,
  event: AuditEventType,
  userId: string | null,
  details?: Record<string, string | number | boolean>,
): Promise<void> {
  return auditRepository(tx).record({
    event,
    userId,
    ipMasked: maskIp(ctx.ip),
    userAgent: userAgentOf(ctx.userAgent),
    correlationId: ctx.correlationId ?? null,
    details,
    at: deps.now(),
  })
}
