import type { Db } from '@bio/service-kit'
import type { FastifyBaseLogger } from 'fastify'
import type { AuthConfig } from '../config.js'
import { mailOutboxRepository } from '../db/mail-outbox-repository.js'
import type { AuthSchema, MailOutboxRow } from '../db/schema.js'
import { prepareMail } from '../domain/mail-jobs.js'
import type { MailTransport } from './mail-transport.js'

export interface OutboxSenderDeps {
  db: Db<AuthSchema>
  config: AuthConfig
  transport: MailTransport
  now: () => Date
  log: FastifyBaseLogger
}

/** Rows taken per pass and sent concurrently. */
const BATCH = 5
const MAX_BACKOFF_MS = 3_600_000
const STOP_WAIT_MS = 5000

/** Delay before attempt `attempts + 1`: the base, doubled per failed attempt, at most an hour. */
export const retryDelayMs = (baseMs: number, attempts: number): number =>
  Math.min(baseMs * 2 ** Math.max(0, attempts - 1), MAX_BACKOFF_MS)

/** Error text worth recording: the SMTP reply or the socket error, never the message itself. */
const describe = (err: unknown): string =>
  (err instanceof Error
    ? `${(err as { code?: string }).code ?? err.name}: ${err.message}`
    : String(err)
  ).slice(0, 500)

/**
 * Delivers the outbox. `wake()` starts a pass at once (called after a commit that queued mail, and
 * on every NOTIFY); otherwise it passes every MAIL_POLL_INTERVAL_MS, or when a retry falls due.
 * A pass claims due rows (several instances take disjoint rows), sends, and records the outcome.
 * A crash mid-send leaves the row leased; it is due again when the lease ends.
 */
export function createOutboxSender(deps: OutboxSenderDeps) {
  const { config, log } = deps
  const outbox = mailOutboxRepository(deps.db)
  let again = false
  let current: Promise<void> | undefined
  let timer: NodeJS.Timeout | undefined
  let stopped = true
  const idleWaiters: (() => void)[] = []

  async function deliver(row: MailOutboxRow): Promise<void> {
    const now = deps.now()
    let recipient: string | undefined
    try {
      const prepared = await prepareMail(deps.db, config, row, now)
      if ('skip' in prepared) {
        await outbox.markSkipped(row.id, prepared.skip, now)
        return
      }
      recipient = prepared.mail.to
      await deps.transport.send(prepared.mail)
    } catch (err) {
      const error = describe(err)
      const retryAt =
        row.attempts < config.mail.maxAttempts
          ? new Date(deps.now().getTime() + retryDelayMs(config.mail.retryBaseMs, row.attempts))
          : undefined
      // Recorded first: the log line means the row is released and due again at `retryAt`.
      await outbox.markAttemptFailed(row.id, error, deps.now(), retryAt)
      log.warn(
        { mailId: row.id, kind: row.kind, attempts: row.attempts, error, retryAt },
        'mail attempt failed',
      )
      return
    }
    await outbox.markSent(row.id, recipient, deps.now())
    log.info({ mailId: row.id, kind: row.kind, attempts: row.attempts }, 'mail sent')
  }

  async function pass(): Promise<void> {
    do {
      again = false
      for (;;) {
        const rows = await outbox.claimDue(deps.now(), BATCH)
        if (rows.length === 0) break
        await Promise.all(rows.map((row) => deliver(row).catch((err) => log.error({ err }, 'mail outbox'))))
      }
    } while (again && !stopped)
  }

  async function scheduleNext(): Promise<void> {
    if (stopped) return
    const dueAt = await outbox.nextDueAt().catch(() => undefined)
    const untilDue = dueAt ? dueAt.getTime() - deps.now().getTime() : Number.POSITIVE_INFINITY
    const delay = Math.max(10, Math.min(config.mail.pollIntervalMs, untilDue))
    clearTimeout(timer)
    timer = setTimeout(wake, delay)
    timer.unref()
  }

  function wake(): void {
    if (stopped) return
    if (current) {
      again = true
      return
    }
    current = pass()
      // The database is down, most likely: the next wake or poll tries again.
      .catch((err: Error) => log.warn({ err: { message: err.message } }, 'mail outbox pass failed'))
      .then(scheduleNext)
      .finally(() => {
        current = undefined
        if (again) wake()
        else for (const resolve of idleWaiters.splice(0)) resolve()
      })
  }

  return {
    wake,
    start(): void {
      stopped = false
      wake()
    },
    /** Resolves once a pass has run after this call and found nothing more to send now. */
    idle(): Promise<void> {
      if (stopped) return Promise.resolve()
      const done = new Promise<void>((resolve) => idleWaiters.push(resolve))
      wake()
      return done
    },
    /**
     * Stops waking and waits for the pass in flight, at most STOP_WAIT_MS: a hung SMTP server must
     * not hold a shutdown. A mail still being sent then stays leased and goes out after its lease.
     */
    async stop(): Promise<void> {
      stopped = true
      clearTimeout(timer)
      let waited: NodeJS.Timeout | undefined
      await Promise.race([current, new Promise((resolve) => (waited = setTimeout(resolve, STOP_WAIT_MS)))])
      clearTimeout(waited)
      for (const resolve of idleWaiters.splice(0)) resolve()
      deps.transport.close()
    },
  }
}
export type OutboxSender = ReturnType<typeof createOutboxSender>
