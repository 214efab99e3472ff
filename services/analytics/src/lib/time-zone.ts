/**
 * The canonical IANA name of a time zone the runtime knows (`europe/paris` → `Europe/Paris`;
 * links such as `Asia/Calcutta` stay as named), or `undefined` for anything else. The schema's pattern has
 * already refused offsets (`+01:00`) and free text, which `Intl` would otherwise accept.
 */
export function canonicalTimeZone(name: string): string | undefined {
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone
  } catch {
    return undefined
  }
}
