import { type ChildProcessByStdio, execFileSync, spawn } from 'node:child_process'
import type { Readable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { createTestDatabase, type TestDatabase } from '@bio/shared/testing'
import postgres from 'postgres'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort, type SmtpSink, smtpSink } from './mail-capture.js'

/**
 * The built server (`dist/server.js`) killed with SIGKILL after a mail was queued: the restarted
 * server delivers it, once. SMTP is down for the first process, so the mail is certainly still in
 * the outbox when the process dies; the sink then comes up on that port for the second one.
 */

const root = fileURLToPath(new URL('../../..', import.meta.url))
let db: TestDatabase
let sink: SmtpSink | undefined
const children: ChildProcessByStdio<null, Readable, Readable>[] = []

beforeAll(async () => {
  // `npm test` builds first; a direct `vitest run` gets an up-to-date build here (a no-op when fresh).
  execFileSync(`${root}node_modules/.bin/tsc`, ['-b', 'services/auth'], { cwd: root, stdio: 'inherit' })
  db = await createTestDatabase('mailcrash')
}, 60_000)
afterAll(async () => {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  await sink?.stop()
  await db?.drop()
})

interface Line {
  msg: string
  [key: string]: unknown
}

/** Starts the built auth server; resolves with its base URL once it listens. */
async function start(smtpPort: number) {
  const child = spawn(process.execPath, ['services/auth/dist/server.js'], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      AUTH_PORT: '0',
      LOG_LEVEL: 'info',
      AUTH_DATABASE_URL: db.url,
      JWT_SECRET: 'mail-crash-test-secret-at-least-32-bytes!!',
      SMTP_URL: `smtp://mailer:mailer-pass@127.0.0.1:${smtpPort}`,
      RATE_LIMIT_ENABLED: 'false',
      OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0',
      MAIL_POLL_INTERVAL_MS: '600000',
      MAIL_RETRY_BASE_MS: '100',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.push(child)
  const lines: Line[] = []
  const waiters = new Set<() => void>()
  let buffered = ''
  child.stdout.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8')
    const parts = buffered.split('\n')
    buffered = parts.pop() ?? ''
    for (const p of parts.filter(Boolean)) lines.push(JSON.parse(p) as Line)
    for (const w of waiters) w()
  })
  const stderr: string[] = []
  child.stderr.on('data', (c: Buffer) => stderr.push(c.toString()))
  const waitFor = (predicate: (l: Line) => boolean) =>
    new Promise<Line>((resolve, reject) => {
      const check = () => {
        const hit = lines.find(predicate)
        if (hit) {
          waiters.delete(check)
          resolve(hit)
        } else if (child.exitCode !== null) reject(new Error(`server exited: ${stderr.join('')}`))
      }
      waiters.add(check)
      check()
    })
  const listening = await waitFor((l) => l.msg.startsWith('Server listening at '))
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_c, s) => resolve(s)))
  return { child, base: listening.msg.replace('Server listening at ', ''), waitFor, exited }
}

describe('outbox across a SIGKILL', () => {
  it('a mail queued before the process was killed is delivered after the restart, once', async () => {
    const smtpPort = await freePort()
    const first = await start(smtpPort)
    const email = `crash.${Date.now()}@example.com`
    const res = await fetch(`${first.base}/api/v1/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password: 'Correct-Horse1', acceptedTerms: true, acceptedPrivacy: true }),
    })
    expect(res.status).toBe(201)
    // The sender tried (SMTP is down) and the row is back in the outbox, due again.
    await first.waitFor((l) => l.msg === 'mail attempt failed')
    first.child.kill('SIGKILL')
    expect(await first.exited).toBe('SIGKILL')

    sink = await smtpSink({ port: smtpPort })
    const second = await start(smtpPort)
    const mail = await sink.next((m) => m.envelopeTo.includes(email))
    expect(mail.subject).toBe('Confirm your e-mail address')
    await second.waitFor((l) => l.msg === 'mail sent')

    const sql = postgres(db.url, { max: 1, onnotice: () => {} })
    try {
      const rows = await sql`select status, attempts from mail_outbox where kind = 'verify_email'`
      expect(rows).toHaveLength(1)
      expect(rows[0]).toMatchObject({ status: 'sent' })
      expect(rows[0]!.attempts).toBeGreaterThanOrEqual(2)
    } finally {
      await sql.end()
    }
    expect(sink.mails.filter((m) => m.envelopeTo.includes(email))).toHaveLength(1)
    second.child.kill('SIGTERM')
    await second.exited
  }, 60_000)
})
