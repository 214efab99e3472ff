import type { LocaleTemplates } from './templates.js'

export const en: LocaleTemplates = {
  greeting: (name) => `Hello ${name},`,
  signature: 'The BIO.RE team',
  kinds: {
    verify_email: {
      subject: 'Confirm your e-mail address',
      action: 'Confirm e-mail address',
      paragraphs: (v) => [
        'Please confirm that this is your e-mail address by opening the link below.',
        `The link is valid for ${v.validHours} hours and can be used once.`,
        'If you did not create a BIO.RE account, you can ignore this mail.',
      ],
    },
    reset_password: {
      subject: 'Reset your password',
      action: 'Choose a new password',
      paragraphs: (v) => [
        'Someone asked to reset the password of your BIO.RE account. To choose a new password, open the link below.',
        `The link is valid for ${v.validHours} hour(s) and can be used once. Choosing a new password signs you out everywhere.`,
        'If you did not ask for this, ignore this mail: your password stays as it is.',
      ],
    },
    password_changed: {
      subject: 'Your password was changed',
      paragraphs: (v) => [
        'The password of your BIO.RE account was just changed.',
        `If this was you, nothing else is needed. If it was not, reset your password at ${v.appUrl}/forgot-password at once and review your sessions.`,
      ],
    },
    refresh_reuse: {
      subject: 'Security alert: we signed you out everywhere',
      paragraphs: (v) => [
        'A sign-in token of your account was used again after it had been replaced. This can mean that someone copied it.',
        'To protect you, every session of your account was signed out. Sign in again on your devices.',
        `If you did not expect this, change your password at ${v.appUrl}/forgot-password.`,
      ],
    },
  },
}
