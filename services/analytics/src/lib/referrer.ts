/** The referrer's host name without `www.`, lower-cased; `direct` when missing or unparseable. */
export function referrerDomain(referrer: string | undefined): string {
  if (!referrer) return 'direct'
  try {
    const host = new URL(referrer).hostname.toLowerCase()
    if (!host) return 'direct'
    return host.startsWith('www.') ? host.slice(4) : host
  } catch {
    return 'direct'
  }
}
