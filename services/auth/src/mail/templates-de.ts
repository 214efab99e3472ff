import type { LocaleTemplates } from './templates.js'

export const de: LocaleTemplates = {
  greeting: (name) => `Hallo ${name},`,
  signature: 'Dein BIO.RE-Team',
  kinds: {
    verify_email: {
      subject: 'Bestätige deine E-Mail-Adresse',
      action: 'E-Mail-Adresse bestätigen',
      paragraphs: (v) => [
        'Bitte bestätige über den folgenden Link, dass dies deine E-Mail-Adresse ist.',
        `Der Link ist ${v.validHours} Stunden gültig und kann einmal verwendet werden.`,
        'Wenn du kein BIO.RE-Konto angelegt hast, kannst du diese E-Mail ignorieren.',
      ],
    },
    reset_password: {
      subject: 'Setze dein Passwort zurück',
      action: 'Neues Passwort wählen',
      paragraphs: (v) => [
        'Jemand hat angefordert, das Passwort deines BIO.RE-Kontos zurückzusetzen. Über den folgenden Link wählst du ein neues Passwort.',
        `Der Link ist ${v.validHours} Stunde(n) gültig und kann einmal verwendet werden. Ein neues Passwort meldet dich überall ab.`,
        'Wenn du das nicht warst, ignoriere diese E-Mail: Dein Passwort bleibt unverändert.',
      ],
    },
    password_changed: {
      subject: 'Dein Passwort wurde geändert',
      paragraphs: (v) => [
        'Das Passwort deines BIO.RE-Kontos wurde soeben geändert.',
        `Wenn du das warst, ist nichts weiter zu tun. Wenn nicht, setze dein Passwort sofort unter ${v.appUrl}/forgot-password zurück und prüfe deine Sitzungen.`,
      ],
    },
    refresh_reuse: {
      subject: 'Sicherheitswarnung: Wir haben dich überall abgemeldet',
      paragraphs: (v) => [
        'Ein Anmelde-Token deines Kontos wurde erneut verwendet, nachdem es bereits ersetzt worden war. Das kann bedeuten, dass jemand es kopiert hat.',
        'Zu deinem Schutz wurden alle Sitzungen deines Kontos abgemeldet. Melde dich auf deinen Geräten erneut an.',
        `Wenn du damit nicht gerechnet hast, ändere dein Passwort unter ${v.appUrl}/forgot-password.`,
      ],
    },
  },
}
