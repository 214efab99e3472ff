import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loggerOptions } from '@bio/service-kit'
import { captureLogs } from '@bio/service-kit/testing'
import { sql } from 'drizzle-orm'
import { simpleParser } from 'mailparser'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { buildAuthApp } from '../src/app.js'
import { pruneMailOutbox } from '../src/domain/retention.js'
import { smtpTransport } from '../src/mail/mail-transport.js'
import { fastHasher, query, registerUser, testClock, testConfig, useAuthHarness } from './helper.js'
import { type SmtpSink, smtpSink, tokenOf } from './mail-capture.js'

/**
 * The outbox against a real SMTP server (smtp-server, with AUTH) and mailparser: what arrives, the
 * wake-up by commit (the poll is set to ten minutes, so only a wake can deliver), retries while
 * SMTP is down, exactly-once delivery across two instances, and the `.eml` fallback.
 */

let sink: SmtpSink
const NO_POLL = { MAIL_POLL_INTERVAL_MS: '600000', MAIL_RETRY_BASE_MS: '50' }

const h = useAuthHarness({ app: false })

beforeAll(async () => {
  sink = await smtpSink()
})
afterAll(async () => {
  await sink?.stop()
})
// Every sender over this database competes for its rows: each test stops the ones it started.
const started: { mailOutbox: { stop(): Promise<void> } }[] = []
afterEach(async () => {
  await Promise.all(started.splice(0).map((app) => app.mailOutbox.stop()))
})

/** An app over the harness database that sends through the SMTP sink. */
async function smtpApp(env: Record<string, string> = {}) {
  const config = testConfig({ SMTP_URL: sink.url, ...NO_POLL, ...env }, h.testDb.url)
  const app = await h.build({
    env: { SMTP_URL: sink.url, ...NO_POLL, ...env },
    mail: smtpTransport(config.mail),
  })
  started.push(app)
  await app.ready()
  return app
}

const outboxRow = async (userId: string) =>
  (
    await query<{ status: string; attempts: number; last_error: string | null; recipient: string | null }>(
      h,
      sql`select status, attempts, last_error, recipient from mail_outbox where user_id = ${userId} and kind = 'verify_email'`,
    )
  )[0]!

describe('mail over SMTP', () => {
  it('delivers the verification mail woken by the commit: recipient, subject, locale, both parts, a working link', async () => {
    const app = await smtpApp({
      APP_URL: 'https://app.example.test',
      MAIL_FROM: 'BIO.RE <hello@example.test>',
    })
    const user = await registerUser(app, { locale: 'de' })
    const mail = await sink.next((m) => m.envelopeTo.includes(user.email))
    expect(mail.to && 'text' in mail.to ? mail.to.text : '').toBe(user.email)
    expect(mail.from?.text).toBe('"BIO.RE" <hello@example.test>')
    expect(mail.subject).toBe('Bestätige deine E-Mail-Adresse')
    expect(mail.headers.get('content-language')).toBe('de')
    expect(mail.text).toContain('Hallo')
    expect(mail.html).toContain('<a href="https://app.example.test/verify-email?token=')
    const token = tokenOf(mail.text ?? '', 'verify-email')
    expect(String(mail.html)).toContain(token)
    const res = await app.inject({ method: 'POST', url: '/api/v1/auth/verify-email', payload: { token } })
    expect(res.statusCode, res.body).toBe(200)
    await app.mailOutbox.idle()
    expect(await outboxRow(user.userId)).toMatchObject({ status: 'sent', attempts: 1, recipient: user.email })
  })

  it('a mail queued while SMTP is down is retried with backoff and delivered once SMTP is back', async () => {
    const app = await smtpApp()
    await sink.stop()
    let user: Awaited<ReturnType<typeof registerUser>>
    try {
      user = await registerUser(app)
      await app.mailOutbox.idle()
      const failed = await outboxRow(user.userId)
      expect(failed.status).toBe('pending')
      expect(failed.attempts).toBeGreaterThanOrEqual(1)
      expect(failed.last_error).toMatch(/ECONNREFUSED|ESOCKET|ECONNECTION/)
    } finally {
      await sink.start()
    }
    const mail = await sink.next((m) => m.envelopeTo.includes(user.email))
    expect(mail.subject).toBe('Confirm your e-mail address')
    await app.mailOutbox.idle()
    const row = await outboxRow(user.userId)
    expect(row).toMatchObject({ status: 'sent', last_error: null })
    expect(row.attempts).toBeGreaterThanOrEqual(2)
    expect(sink.mails.filter((m) => m.envelopeTo.includes(user.email))).toHaveLength(1)
  })

  it('gives up after MAIL_MAX_ATTEMPTS and records the failure', async () => {
    const clock = testClock()
    const app = await h.build({
      now: clock.now,
      env: { ...NO_POLL, MAIL_MAX_ATTEMPTS: '2', MAIL_RETRY_BASE_MS: '60000' },
      mail: {
        send: async () =>
          Promise.reject(Object.assign(new Error('550 mailbox unavailable'), { code: 'EENVELOPE' })),
        close() {},
      },
    })
    started.push(app)
    await app.ready()
    const user = await registerUser(app)
    await app.mailOutbox.idle()
    expect(await outboxRow(user.userId)).toMatchObject({ status: 'pending', attempts: 1 })
    // Not due before the backoff has passed, due after it.
    clock.advance(59_000)
    await app.mailOutbox.idle()
    expect((await outboxRow(user.userId)).attempts).toBe(1)
    clock.advance(2000)
    await app.mailOutbox.idle()
    expect(await outboxRow(user.userId)).toMatchObject({
      status: 'failed',
      attempts: 2,
      last_error: 'EENVELOPE: 550 mailbox unavailable',
    })
  })

  it('two instances deliver each mail exactly once, and a commit on one wakes the other (LISTEN/NOTIFY)', async () => {
    const a = await smtpApp()
    const b = await smtpApp()
    const users = await Promise.all(Array.from({ length: 16 }, (_, i) => registerUser(i % 2 ? a : b)))
    const emails = new Set(users.map((u) => u.email))
    await Promise.all(users.map((u) => sink.next((m) => m.envelopeTo.includes(u.email))))
    await Promise.all([a.mailOutbox.idle(), b.mailOutbox.idle()])
    const received = sink.mails.filter((m) => m.envelopeTo.some((t) => emails.has(t)))
    expect(received).toHaveLength(16)
    expect(new Set(received.map((m) => m.messageId)).size).toBe(16)
    for (const u of users) expect(await outboxRow(u.userId)).toMatchObject({ status: 'sent', attempts: 1 })

    // With a's sender stopped, only b's LISTEN can pick up a's commit (the poll is ten minutes).
    await a.mailOutbox.stop()
    const late = await registerUser(a)
    const mail = await sink.next((m) => m.envelopeTo.includes(late.email))
    expect(mail.subject).toBe('Confirm your e-mail address')
  })
})

describe('outbox retention', () => {
  it('deletes handled rows after 30 days in batches, never a pending one', async () => {
    const old = new Date(Date.now() - 31 * 86_400_000).toISOString()
    await h.database.db.execute(sql`
      insert into mail_outbox (kind, status, processed_at, created_at)
      select 'password_changed', (array['sent', 'skipped', 'failed'])[1 + i % 3], ${old}::timestamptz, ${old}::timestamptz
      from generate_series(1, 1500) as i`)
    await h.database.db.execute(
      sql`insert into mail_outbox (kind, status, created_at, next_attempt_at) values ('password_changed', 'pending', ${old}::timestamptz, now() + interval '1 day')`,
    )
    expect(await pruneMailOutbox(h.database.db, new Date())).toBe(1500)
    const [left] = await query<{ n: number }>(
      h,
      sql`select count(*)::int as n from mail_outbox where created_at = ${old}::timestamptz`,
    )
    expect(left!.n).toBe(1)
  })
})

describe('without SMTP_URL', () => {
  it('writes each mail as an .eml file under DATA_DIR/mail and logs the path, never the token', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'bio-eml-'))
    const cap = captureLogs()
    const config = testConfig(
      { RATE_LIMIT_ENABLED: 'false', LOG_LEVEL: 'trace', DATA_DIR: dataDir, ...NO_POLL },
      h.testDb.url,
    )
    const app = await buildAuthApp({
      config,
      database: h.database,
      hasher: fastHasher(),
      logger: { ...(loggerOptions(config.http) as object), stream: cap.stream },
    })
    try {
      await app.ready()
      const user = await registerUser(app)
      await app.mailOutbox.idle()
      const files = await readdir(join(dataDir, 'mail'))
      expect(files).toHaveLength(1)
      const parsed = await simpleParser(await readFile(join(dataDir, 'mail', files[0]!)))
      expect(parsed.subject).toBe('Confirm your e-mail address')
      const token = tokenOf(parsed.text ?? '', 'verify-email')
      const written = cap.json().find((l) => l.msg === 'mail written (no SMTP_URL set)')
      expect(written?.path).toBe(join(dataDir, 'mail', files[0]!))
      expect(cap.lines.some((l) => l.includes(token))).toBe(false)
      expect(user.userId).toBeTruthy()
    } finally {
      await app.close()
      await rm(dataDir, { recursive: true, force: true })
    }
  })
})
