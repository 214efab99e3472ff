import { type Db, rowsOf } from '@bio/service-kit'
import { eq, sql } from 'drizzle-orm'
import { type AuthSchema, type MailKind, type MailOutboxRow, mailOutbox } from './schema.js'

/** Channel of the NOTIFY sent with every queued mail, so every instance's sender wakes at commit. */
export const MAIL_CHANNEL = 'auth_mail_outbox'

export interface QueuedMail {
  kind: MailKind
  userId?: string | null
  requestedEmail?: string | null
}

/** How long a claimed row is held by its sender; after a crash the row is due again then. */
export const MAIL_LEASE_MS = 120_000

export function mailOutboxRepository(db: Db<AuthSchema>) {
  return {
    /** Queues a mail inside the caller's transaction; the NOTIFY is delivered when it commits. */
    async enqueue(mail: QueuedMail, at: Date): Promise<void> {
      await db.insert(mailOutbox).values({
        kind: mail.kind,
        userId: mail.userId ?? null,
        requestedEmail: mail.requestedEmail ?? null,
        nextAttemptAt: at,
        createdAt: at,
      })
      await db.execute(sql`select pg_notify(${MAIL_CHANNEL}, '')`)
    },

    /**
     * Takes up to `limit` due rows for this sender: `FOR UPDATE SKIP LOCKED` lets concurrent
     * senders take disjoint rows, and the lease keeps a row from being taken again while it is sent.
     */
    async claimDue(now: Date, limit: number): Promise<MailOutboxRow[]> {
      const leaseUntil = new Date(now.getTime() + MAIL_LEASE_MS)
      const rows = await db.execute(sql`
        update ${mailOutbox} set leased_until = ${leaseUntil.toISOString()}::timestamptz, attempts = attempts + 1
        where id in (
          select id from ${mailOutbox}
          where status = 'pending' and next_attempt_at <= ${now.toISOString()}::timestamptz
            and (leased_until is null or leased_until <= ${now.toISOString()}::timestamptz)
          order by next_attempt_at
          limit ${limit}
          for update skip locked
        )
        returning id, kind, user_id as "userId", requested_email as "requestedEmail", attempts`)
      return rowsOf<MailOutboxRow>(rows)
    },

    /** The earliest time a pending row is due, to schedule the next wake-up. */
    async nextDueAt(): Promise<Date | undefined> {
      const rows = rowsOf<{ at: string | Date | null }>(
        await db.execute(
          sql`select min(greatest(next_attempt_at, coalesce(leased_until, next_attempt_at))) as at from ${mailOutbox} where status = 'pending'`,
        ),
      )
      const at = rows[0]?.at
      return at ? new Date(at) : undefined
    },

    async markSent(id: string, recipient: string, at: Date): Promise<void> {
      await db
        .update(mailOutbox)
        .set({
          status: 'sent',
          recipient,
          processedAt: at,
          leasedUntil: null,
          requestedEmail: null,
          lastError: null,
        })
        .where(eq(mailOutbox.id, id))
    },

    /** Nothing to send (no such account, already verified...): the asked-about address is dropped. */
    async markSkipped(id: string, reason: string, at: Date): Promise<void> {
      await db
        .update(mailOutbox)
        .set({
          status: 'skipped',
          processedAt: at,
          leasedUntil: null,
          requestedEmail: null,
          lastError: reason,
        })
        .where(eq(mailOutbox.id, id))
    },

    /** Deletes up to `batch` handled rows (sent, skipped, failed) processed before `before`. */
    async pruneHandled(before: Date, batch: number): Promise<number> {
      const rows = await db.execute(sql`
        delete from ${mailOutbox} where id in (
          select id from ${mailOutbox}
          where status <> 'pending' and processed_at < ${before.toISOString()}::timestamptz
          limit ${batch}
        ) returning id`)
      return rowsOf(rows).length
    },

    /** Records a failed attempt: due again at `retryAt`, or failed for good when `retryAt` is undefined. */
    async markAttemptFailed(id: string, error: string, at: Date, retryAt: Date | undefined): Promise<void> {
      await db
        .update(mailOutbox)
        .set(
          retryAt
            ? { lastError: error, leasedUntil: null, nextAttemptAt: retryAt }
            : {
                status: 'failed',
                lastError: error,
                leasedUntil: null,
                processedAt: at,
                requestedEmail: null,
              },
        )
        .where(eq(mailOutbox.id, id))
    },
  }
}
export type MailOutboxRepository = ReturnType<typeof mailOutboxRepository>
