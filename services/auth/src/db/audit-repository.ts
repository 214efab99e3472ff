import { type Db, rowsOf } from '@bio/service-kit'
import { sql } from 'drizzle-orm'
import { type AuditEventType, type AuthSchema, authAuditEvents } from './schema.js'

export interface AuditEvent {
  event: AuditEventType
  userId?: string | null
  ipMasked: string | null
  userAgent: string | null
  correlationId: string | null
  details?: Record<string, string | number | boolean>
  at: Date
}

export function auditRepository(db: Db<AuthSchema>) {
  return {
    /** Appends one event; called with the action's transaction so both commit or neither does. */
    async record(e: AuditEvent): Promise<void> {
      await db.insert(authAuditEvents).values({
        event: e.event,
        userId: e.userId ?? null,
        ipMasked: e.ipMasked,
        userAgent: e.userAgent,
        correlationId: e.correlationId,
        details: e.details ?? null,
        createdAt: e.at,
      })
    },

    /** Deletes up to `batch` events older than `before`; returns how many went. */
    async pruneBatch(before: Date, batch: number): Promise<number> {
      const rows = await db.execute(sql`
        delete from ${authAuditEvents} where id in (
          select id from ${authAuditEvents} where created_at < ${before.toISOString()}::timestamptz
          order by created_at limit ${batch}
        ) returning id`)
      return rowsOf(rows).length
    },
  }
}
