import {
  type BuiltServer,
  buildServices,
  createTestDatabase,
  freePort,
  startBuiltServer,
  type TestDatabase,
} from '@bio/service-kit/testing'
import postgres from 'postgres'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type SmtpSink, smtpSink } from './mail-capture.js'

/**
 * The built server (`dist/server.js`) killed with SIGKILL after a mail was queued: the restarted
 * server delivers it, once. SMTP is down for the first process, so the mail is certainly still in
 * the outbox when the process dies; the sink then comes up on that port for the second one.
 * (A process killed in the middle of a send leaves its row leased; it goes out when the lease ends.)
 */

let db: TestDatabase
let sink: SmtpSink | undefined
const servers: BuiltServer[] = []

beforeAll(async () => {
  // `npm test` builds first; a direct `vitest run` gets an up-to-date build here (a no-op when fresh).
  buildServices()
  db = await createTestDatabase('mailcrash')
}, 60_000)
afterAll(async () => {
  for (const { child } of servers)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  await sink?.stop()
  await db?.drop()
})

/** Starts the built auth server with SMTP at `smtpPort`; resolves once it listens. */
async function start(smtpPort: number, retryBaseMs: number): Promise<BuiltServer> {
  const server = await startBuiltServer('auth', {
    env: {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'production',
      LOGIN_THROTTLE_SECRET: 'mail-crash-throttle-secret-at-least-32-bytes',
      HOST: '127.0.0.1',
      AUTH_PORT: '0',
      LOG_LEVEL: 'info',
      AUTH_DATABASE_URL: db.url,
      JWT_SECRET: 'mail-crash-test-secret-at-least-32-bytes!!',
      SMTP_URL: `smtp://mailer:mailer-pass@127.0.0.1:${smtpPort}`,
      RATE_LIMIT_ENABLED: 'false',
      OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0',
      MAIL_POLL_INTERVAL_MS: '600000',
      MAIL_RETRY_BASE_MS: String(retryBaseMs),
    },
  })
  servers.push(server)
  return server
}

describe('outbox across a SIGKILL', () => {
  it('a mail queued before the process was killed is delivered after the restart, once', async () => {
    const smtpPort = await freePort()
    // A one-minute backoff: no second attempt can be under way when the signal lands.
    const first = await start(smtpPort, 60_000)
    const email = `crash.${Date.now()}@example.com`
    const res = await fetch(`${first.base}/api/v1/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password: 'Correct-Horse1', acceptedTerms: true, acceptedPrivacy: true }),
    })
    expect(res.status).toBe(201)
    // The sender tried (SMTP is down) and the row is back in the outbox, due again.
    await first.waitFor((l) => l.msg === 'mail attempt failed', 'a failed attempt')
    first.child.kill('SIGKILL')
    expect((await first.exited).signal).toBe('SIGKILL')
    const sql = postgres(db.url, { max: 1, onnotice: () => {} })
    try {
      const [row] =
        await sql`select status, attempts, leased_until from mail_outbox where kind = 'verify_email'`
      expect(row).toMatchObject({ status: 'pending', attempts: 1, leased_until: null })
      // The backoff elapses (the child's clock cannot be injected): the row is due when the new process starts.
      await sql`update mail_outbox set next_attempt_at = now() where kind = 'verify_email'`
    } finally {
      await sql.end()
    }

    sink = await smtpSink({ port: smtpPort })
    const second = await start(smtpPort, 60_000)
    const mail = await sink.next((m) => m.envelopeTo.includes(email))
    expect(mail.subject).toBe('Confirm your e-mail address')
    await second.waitFor((l) => l.msg === 'mail sent', 'the mail to be sent')

    const check = postgres(db.url, { max: 1, onnotice: () => {} })
    try {
      const rows = await check`select status, attempts from mail_outbox where kind = 'verify_email'`
      expect(rows).toHaveLength(1)
      expect(rows[0]).toMatchObject({ status: 'sent' })
      expect(rows[0]!.attempts).toBe(2)
    } finally {
      await check.end()
    }
    expect(sink.mails.filter((m) => m.envelopeTo.includes(email))).toHaveLength(1)
    second.child.kill('SIGTERM')
    await second.exited
  }, 60_000)
})
