import type { DatabaseHandle } from '@bio/service-kit'
import type { FastifyInstance } from 'fastify'
import type { AuthConfig } from '../config.js'
import { MAIL_CHANNEL } from '../db/mail-outbox-repository.js'
import type { AuthSchema } from '../db/schema.js'
import { pruneAuditEvents, pruneMailOutbox } from '../domain/retention.js'
import type { OutboxSender } from '../mail/outbox-sender.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The mail outbox's sender; `idle()` resolves once everything due has been handled. */
    mailOutbox: OutboxSender
    /** Deletes audit events older than AUDIT_RETENTION_DAYS; runs hourly on its own (with the outbox's). */
    pruneAuditEvents(now?: Date): Promise<number>
  }
}

const PRUNE_EVERY_MS = 3_600_000
const PRUNE_FIRST_AFTER_MS = 60_000

export interface BackgroundJobsOptions {
  database: DatabaseHandle<AuthSchema>
  config: AuthConfig
  sender: OutboxSender
  now: () => Date
  /** Close the database after the jobs have stopped. */
  closeDatabase: boolean
}

/**
 * The work an instance does besides answering: the mail sender (woken by this instance's commits
 * and, through LISTEN, by every other's) and the hourly pruning. Both start when the app is
 * ready and stop, before the database closes, when it closes.
 */
export function backgroundJobs(app: FastifyInstance, options: BackgroundJobsOptions): void {
  const { database, config, sender, now } = options
  app.decorate('mailOutbox', sender)
  app.decorate('pruneAuditEvents', (at?: Date) =>
    pruneAuditEvents(database.db, config.auditRetentionDays, at ?? now()),
  )
  let stopListening: (() => Promise<void>) | undefined
  let pruneTimer: NodeJS.Timeout | undefined
  let closing = false
  // Not awaited: an instance whose database is down must still start (and answer 503); the poll
  // covers the time without a listener.
  const listen = (): void => {
    database.listen(MAIL_CHANNEL, sender.wake).then(
      (stop) => {
        if (closing) void stop().catch(() => {})
        else stopListening = stop
      },
      (err: Error) => {
        if (closing) return
        app.log.warn({ err: { message: err.message } }, 'mail outbox: LISTEN failed; retrying')
        setTimeout(listen, config.mail.pollIntervalMs).unref()
      },
    )
  }
  const prune = () =>
    void Promise.all([app.pruneAuditEvents(), pruneMailOutbox(database.db, now())]).catch((err: Error) =>
      app.log.warn({ err: { message: err.message } }, 'pruning the audit log or the outbox failed'),
    )
  app.addHook('onReady', async () => {
    listen()
    sender.start()
    // Hourly, the first time a minute after start: a starting instance's pool serves requests first.
    pruneTimer = setTimeout(() => {
      prune()
      pruneTimer = setInterval(prune, PRUNE_EVERY_MS).unref()
    }, PRUNE_FIRST_AFTER_MS).unref()
  })
  app.addHook('onClose', async () => {
    closing = true
    clearTimeout(pruneTimer)
    clearInterval(pruneTimer)
    await stopListening?.().catch(() => {})
    await sender.stop()
    if (options.closeDatabase) await database.close()
  })
}
