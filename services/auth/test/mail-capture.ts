import type { AddressInfo } from 'node:net'
import { freePort } from '@bio/service-kit/testing'
import { type ParsedMail, simpleParser } from 'mailparser'
import { SMTPServer } from 'smtp-server'
import type { MailTransport, OutgoingMail } from '../src/mail/mail-transport.js'

interface Waiter<T> {
  predicate: (m: T) => boolean
  resolve: (m: T) => void
}

/** Collects items and lets a test wait for one that matches (event-driven: no polling, no sleeps). */
function inbox<T>() {
  const items: T[] = []
  const waiters: Waiter<T>[] = []
  return {
    items,
    push(item: T) {
      items.push(item)
      for (const w of waiters.splice(0)) {
        if (w.predicate(item)) w.resolve(item)
        else waiters.push(w)
      }
    },
    next(predicate: (m: T) => boolean): Promise<T> {
      const found = items.find(predicate)
      if (found) return Promise.resolve(found)
      return new Promise((resolve) => waiters.push({ predicate, resolve }))
    },
  }
}

/** An in-process transport for route tests: every mail the sender hands over, in order. */
export function memoryTransport() {
  const box = inbox<OutgoingMail>()
  const transport: MailTransport & { mails: OutgoingMail[]; next: typeof box.next } = {
    mails: box.items,
    next: box.next,
    async send(mail) {
      box.push(mail)
    },
    close() {},
  }
  return transport
}

/** The token of a mailed `/verify-email?token=` or `/reset-password?token=` link. */
export function tokenOf(text: string, page: 'verify-email' | 'reset-password'): string {
  const m = new RegExp(`/${page}\\?token=([0-9a-f-]{36})`).exec(text)
  if (!m) throw new Error(`no ${page} link in mail`)
  return m[1]!
}

/**
 * A real SMTP server (smtp-server) on 127.0.0.1 with AUTH; every message is parsed with
 * mailparser. `stop()` closes it; `start()` again on the same port (SMTP down, then back).
 */
export async function smtpSink(options: { port?: number; user?: string; pass?: string } = {}) {
  const user = options.user ?? 'mailer'
  const pass = options.pass ?? 'mailer-pass'
  const box = inbox<ParsedMail & { envelopeTo: string[] }>()
  let server: SMTPServer | undefined
  let port = options.port ?? (await freePort())
  const start = async () => {
    server = new SMTPServer({
      authOptional: false,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onAuth(auth, _session, cb) {
        if (auth.username === user && auth.password === pass) cb(null, { user })
        else cb(new Error('invalid credentials'))
      },
      onData(stream, session, cb) {
        simpleParser(stream)
          .then((parsed) => {
            box.push(Object.assign(parsed, { envelopeTo: session.envelope.rcptTo.map((r) => r.address) }))
            cb()
          })
          .catch(cb)
      },
    })
    await new Promise<void>((resolve, reject) => {
      server!.once('error', reject)
      server!.listen(port, '127.0.0.1', () => resolve())
    })
    port = (server.server.address() as AddressInfo).port
  }
  await start()
  return {
    get url() {
      return `smtp://${user}:${pass}@127.0.0.1:${port}`
    },
    mails: box.items,
    next: box.next,
    start,
    stop: () => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())),
  }
}
export type SmtpSink = Awaited<ReturnType<typeof smtpSink>>
