import type { Db } from '@bio/shared'
import { auditRepository } from '../db/audit-repository.js'
import type { AuthSchema } from '../db/schema.js'

const BATCH = 1000
const DAY_MS = 86_400_000

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
  let total = 0
  for (;;) {
    const n = await audit.pruneBatch(before, BATCH)
    total += n
    if (n < BATCH) return total
  }
}
