import { isIP } from 'node:net'

/** The eight 16-bit groups of an IPv6 address (`::` expanded), without leading zeros. */
function ipv6Groups(ip: string): string[] {
  const [head = '', tail] = ip.split('::')
  const left = head ? head.split(':') : []
  const right = tail ? tail.split(':') : []
  const fill = tail === undefined ? [] : Array(8 - left.length - right.length).fill('0')
  return [...left, ...fill, ...right].map((g) => g.replace(/^0+(?=.)/, '').toLowerCase())
}

/**
 * `a.b.c.***` for IPv4 (and IPv4-mapped IPv6), the /48 prefix `x:y:z:***` for IPv6: enough to
 * recognise a network, not to locate a person. Only this form is ever stored.
 */
export function maskIp(ip: string | undefined): string | null {
  if (!ip) return null
  const v4 = ip.toLowerCase().startsWith('::ffff:') ? ip.slice(7) : ip
  if (isIP(v4) === 4) return `${v4.split('.').slice(0, 3).join('.')}.***`
  if (isIP(ip) === 6) return `${ipv6Groups(ip.split('%')[0]!).slice(0, 3).join(':')}:***`
  return null
}

/** The User-Agent as stored: trimmed to 512 characters, or null. */
export const userAgentOf = (ua: string | undefined): string | null => (ua ? ua.slice(0, 512) : null)
