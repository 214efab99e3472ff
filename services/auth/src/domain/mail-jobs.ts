import type { Db } from '@bio/service-kit'
import type { AuthConfig } from '../config.js'
import { accountTokensRepository } from '../db/account-tokens-repository.js'
import type { AuthSchema, MailOutboxRow, UserRow } from '../db/schema.js'
import { usersRepository } from '../db/users-repository.js'
import type { OutgoingMail } from '../mail/mail-transport.js'
import { renderMail } from '../mail/templates.js'
import { hashAccountToken, newAccountToken } from './account-token.js'

export type PreparedMail = { mail: OutgoingMail } | { skip: string }

type Row = Pick<MailOutboxRow, 'id' | 'kind' | 'userId' | 'requestedEmail'>

async function recipientOf(db: Db<AuthSchema>, row: Row): Promise<UserRow | undefined> {
  const users = usersRepository(db)
  if (row.userId) return users.findById(row.userId)
  if (row.requestedEmail) return users.findByEmail(row.requestedEmail)
  return undefined
}

/** Why a row's mail must not go out, or undefined when it should. */
function skipReason(row: Row, user: UserRow | undefined): string | undefined {
  if (!user) return 'no such account'
  if (user.status !== 'ACTIVE') return 'account not active'
  if (row.kind === 'verify_email' && user.emailVerified) return 'already verified'
  if (row.kind === 'reset_password' && !user.passwordHash) return 'no password to reset'
  return undefined
}

/**
 * Turns a claimed outbox row into the mail to send. The row names the kind and the user (or the
 * e-mail that was asked about): whether anything is sent is decided here, off the request path,
 * which is what keeps forgot-password's and resend-verification's answers the same for every
 * address. A token is issued only now, so the raw token exists only in the mail itself.
 */
export async function prepareMail(
  db: Db<AuthSchema>,
  config: AuthConfig,
  row: Row,
  now: Date,
): Promise<PreparedMail> {
  const user = await recipientOf(db, row)
  const reason = skipReason(row, user)
  if (reason || !user) return { skip: reason ?? 'no such account' }
  const { appUrl } = config.mail
  let link: string | undefined
  let validHours: number | undefined
  if (row.kind === 'verify_email' || row.kind === 'reset_password') {
    const ttl =
      row.kind === 'verify_email'
        ? config.accountTokens.verifyEmailTtlSeconds
        : config.accountTokens.passwordResetTtlSeconds
    const token = newAccountToken()
    await accountTokensRepository(db).issue(
      user.id,
      row.kind,
      hashAccountToken(token),
      now,
      new Date(now.getTime() + ttl * 1000),
    )
    const page = row.kind === 'verify_email' ? 'verify-email' : 'reset-password'
    link = `${appUrl}/${page}?token=${token}`
    validHours = Math.max(1, Math.round(ttl / 3600))
  }
  const name = user.displayName ?? user.username ?? user.email
  const rendered = renderMail(row.kind, user.locale, { name, link, validHours, appUrl })
  return {
    mail: {
      id: row.id,
      to: user.email,
      locale: rendered.locale,
      subject: rendered.subject,
      text: rendered.text,
      html: rendered.html,
    },
  }
}
