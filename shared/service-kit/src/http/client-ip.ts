import { BlockList, isIP } from 'node:net'
import type { FastifyRequest } from 'fastify'
import type { HttpConfig } from '../config/common-env.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The caller's IP as `clientIp` resolves it; computed on first read. */
    readonly clientIp: string
  }
}

const first = (value: string | string[] | undefined): string | undefined => {
  const raw = Array.isArray(value) ? value[0] : value
  const ip = raw?.split(',')[0]?.trim()
  return ip && isIP(ip) ? ip : undefined
}

/** Which socket peers may speak for the client, from TRUST_PROXY (true, a hop count, or IPs/CIDRs). */
export function proxyTrust(setting: HttpConfig['trustProxy']): (peer: string) => boolean {
  if (setting === false) return () => false
  if (setting === true || typeof setting === 'number') return () => true
  const list = new BlockList()
  for (const entry of setting) {
    const [addr = '', bits] = entry.split('/')
    const type = isIP(addr) === 6 ? 'ipv6' : 'ipv4'
    if (bits === undefined) list.addAddress(addr, type)
    else list.addSubnet(addr, Number(bits), type)
  }
  return (peer) => {
    const v4 = peer.startsWith('::ffff:') ? peer.slice(7) : peer
    return list.check(v4, isIP(v4) === 6 ? 'ipv6' : 'ipv4')
  }
}

/**
 * The caller's IP. When the socket peer is a trusted proxy: `cf-connecting-ip`, then the first
 * `x-forwarded-for` entry, then the peer. Otherwise the peer only, so a client cannot choose its
 * own IP (and with it its rate-limit bucket or GeoIP result).
 */
export function clientIp(req: FastifyRequest, trusted: (peer: string) => boolean): string {
  const peer = req.socket?.remoteAddress ?? req.ip
  if (!trusted(peer)) return peer
  return first(req.headers['cf-connecting-ip']) ?? first(req.headers['x-forwarded-for']) ?? peer
}

/**
 * The network a client is counted by (rate limits, auth's sign-in throttle): the IPv4 address, or
 * the /64 of an IPv6 address (one subscriber usually holds a whole /64, so the full address would
 * let them hop counters at will).
 */
export function clientNetwork(ip: string): string {
  const v4 = ip.startsWith('::ffff:') ? ip.slice(7) : ip
  if (isIP(v4) === 4) return v4
  if (isIP(ip) !== 6) return ip
  const [head = '', tail = ''] = ip.toLowerCase().split('::')
  const left = head ? head.split(':') : []
  const right = tail ? tail.split(':') : []
  const groups = ip.includes('::')
    ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right]
    : left
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`
}
