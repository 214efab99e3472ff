import { mkdir, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import type { FastifyBaseLogger } from 'fastify'
import { createTransport } from 'nodemailer'
import type { MailConfig } from '../config.js'

export interface OutgoingMail {
  /** The outbox row's id: also the Message-ID's local part, so a resend is recognisable. */
  id: string
  to: string
  locale: string
  subject: string
  text: string
  html: string
}

/** Where mails go. The app picks SMTP or `.eml` files from config; tests may pass their own. */
export interface MailTransport {
  send(mail: OutgoingMail): Promise<void>
  close(): void
}

const messageOf = (from: string, mail: OutgoingMail) => ({
  from,
  to: mail.to,
  subject: mail.subject,
  text: mail.text,
  html: mail.html,
  messageId: `<${mail.id}@bio-re.mail>`,
  headers: { 'Content-Language': mail.locale, 'Auto-Submitted': 'auto-generated' },
})

/** Delivers over SMTP (`SMTP_URL`), with timeouts so a hung server fails the attempt instead of holding it. */
export function smtpTransport(config: MailConfig): MailTransport {
  const transporter = createTransport({
    url: config.smtpUrl,
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 30_000,
  })
  return {
    async send(mail) {
      await transporter.sendMail(messageOf(config.from, mail))
    },
    close: () => transporter.close(),
  }
}

/**
 * Development default: each mail is written as `<dir>/<id>.eml` (open it with any mail client).
 * The log names the file and the recipient, never the content (it holds the token).
 */
export function fileTransport(config: MailConfig, log: FastifyBaseLogger): MailTransport {
  const transporter = createTransport({ streamTransport: true, buffer: true, newline: 'unix' })
  const dir = resolve(config.dir)
  return {
    async send(mail) {
      const info = await transporter.sendMail(messageOf(config.from, mail))
      await mkdir(dir, { recursive: true })
      const path = join(dir, `${mail.id}.eml`)
      await writeFile(path, info.message as Buffer, { mode: 0o600 })
      log.info({ path, subject: mail.subject, to: mail.to }, 'mail written (no SMTP_URL set)')
    },
    close: () => transporter.close(),
  }
}
