import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
// A maintained list of throw-away mail domains (MIT licence), one JSON array of domains.
const DISPOSABLE: ReadonlySet<string> = new Set(require('disposable-email-domains') as string[])

/** True when the address's domain (normal form, lib/identifiers.ts), or a parent domain of it, is a known disposable provider. */
export function isDisposableEmail(email: string): boolean {
  const domain = email.slice(email.lastIndexOf('@') + 1)
  const labels = domain.split('.')
  for (let i = 0; i < labels.length - 1; i++) if (DISPOSABLE.has(labels.slice(i).join('.'))) return true
  return false
}
