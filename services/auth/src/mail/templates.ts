import type { MailKind } from '../db/schema.js'
import { de } from './templates-de.js'
import { en } from './templates-en.js'

/** What a template may show. `link` is set for the kinds that carry a token. */
export interface MailVars {
  name: string
  link?: string
  /** Hours the link stays valid. */
  validHours?: number
  appUrl: string
}

export interface MailTemplate {
  subject: string
  /** Paragraphs of the body; the link (when any) follows the first one. */
  paragraphs: (vars: MailVars) => string[]
  /** Text of the link's button in the HTML part. */
  action?: string
}

export interface LocaleTemplates {
  greeting: (name: string) => string
  signature: string
  kinds: Record<MailKind, MailTemplate>
}

/** Every locale with complete templates; the others fall back to `en`. */
export const MAIL_LOCALES: Record<string, LocaleTemplates> = { en, de }

export interface RenderedMail {
  locale: string
  subject: string
  text: string
  html: string
}

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

/** Renders a mail in `locale` (its primary language, then `en`), as plain text and HTML. */
export function renderMail(kind: MailKind, locale: string, vars: MailVars): RenderedMail {
  const chosen = MAIL_LOCALES[locale]
    ? locale
    : MAIL_LOCALES[locale.split('-')[0]!]
      ? locale.split('-')[0]!
      : 'en'
  const t = MAIL_LOCALES[chosen]!
  const template = t.kinds[kind]
  const [first = '', ...rest] = template.paragraphs(vars)
  const link = vars.link
  const text = [t.greeting(vars.name), first, ...(link ? [link] : []), ...rest, t.signature].join('\n\n')
  const p = (s: string) => `<p>${escapeHtml(s)}</p>`
  const button = link
    ? `<p><a href="${escapeHtml(link)}" style="display:inline-block;padding:10px 16px;background:#111;color:#fff;text-decoration:none;border-radius:6px">${escapeHtml(template.action ?? link)}</a></p>\n<p style="font-size:12px;color:#555">${escapeHtml(link)}</p>`
    : ''
  const html = [
    `<!doctype html>\n<html lang="${chosen}"><head><meta charset="utf-8"><title>${escapeHtml(template.subject)}</title></head><body style="font-family:sans-serif;line-height:1.5">`,
    p(t.greeting(vars.name)),
    p(first),
    button,
    ...rest.map(p),
    p(t.signature),
    '</body></html>',
  ]
    .filter(Boolean)
    .join('\n')
  return { locale: chosen, subject: template.subject, text, html }
}
