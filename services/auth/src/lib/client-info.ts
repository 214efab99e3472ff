import { isIP } from 'node:net'

/** `a.b.c.***` for IPv4, the first three groups and `:***` for IPv6: enough to recognise, not to locate. */
export function maskIp(ip: string | undefined): string | null {
  if (!ip) return null
  const v4 = ip.startsWith('::ffff:') ? ip.slice(7) : ip
  if (isIP(v4) === 4) return `${v4.split('.').slice(0, 3).join('.')}.***`
  if (isIP(ip) === 6) return `${ip.split(':').slice(0, 3).join(':')}:***`
  return null
}

/** The User-Agent as stored: trimmed to 512 characters, or null. */
export const userAgentOf = (ua: string | undefined): string | null => (ua ? ua.slice(0, 512) : null)
