import UAParser from 'ua-parser-js'

/** A readable device for the session list: "Firefox on Windows", "Safari on iOS", or null. */
export function deviceName(userAgent: string | null): string | null {
  if (!userAgent) return null
  const { browser, os } = new UAParser(userAgent).getResult()
  const b = browser.name
  const o = os.name ? [os.name, os.version?.split('.')[0]].filter(Boolean).join(' ') : undefined
  if (b && o) return `${b} on ${o}`
  return b ?? o ?? null
}
