import type { Db } from '@bio/service-kit'
import { auditRepository } from '../db/audit-repository.js'
import { mailOutboxRepository } from '../db/mail-outbox-repository.js'
import type { AuthSchema } from '../db/schema.js'

const BATCH = 1000
const DAY_MS = 86_400_000
/** Handled outbox rows are kept this long (to answer "was my mail sent?"), then deleted. */
export const MAIL_OUTBOX_RETENTION_DAYS = 30

/** Runs `batch` until it deletes fewer than BATCH rows; returns the total. */
async function inBatches(batch: (limit: number) => Promise<number>): Promise<number> {
  let total = 0
  for (;;) {
    const n = await batch(BATCH)
    total += n
    if (n < BATCH) return total
  }
}

/**
 * Deletes audit events older than `retentionDays` in batches of 1000 (short transactions, no
 * long lock on the table). Returns how many were deleted; 0 days keeps everything.
 */
export async function pruneAuditEvents(
  db: Db<AuthSchema>,
  retentionDays: number,
  now: Date,
): Promise<number> {
  if (retentionDays <= 0) return 0
  const before = new Date(now.getTime() - retentionDays * DAY_MS)
  const audit = auditRepository(db)
  return inBatches((limit) => audit.pruneBatch(before, limit))
}

/** Deletes outbox rows handled more than MAIL_OUTBOX_RETENTION_DAYS ago, in batches. */
export function pruneMailOutbox(db: Db<AuthSchema>, now: Date): Promise<number> {
  const before = new Date(now.getTime() - MAIL_OUTBOX_RETENTION_DAYS * DAY_MS)
  const outbox = mailOutboxRepository(db)
  return inBatches((limit) => outbox.pruneHandled(before, limit))
}
