import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'

/**
 * The known-device token (OWASP's "device cookie"): `<device id>.<mac>`, where the mac is
 * HMAC-SHA256(LOGIN_THROTTLE_SECRET, e-mail key, device id). It is given to a browser that
 * proved the password (sign-in, registration, refresh) and binds that browser to that e-mail
 * without holding the e-mail. A sign-in presenting a valid one skips the e-mail's delay and is
 * counted per device instead of per network, so an attacker keeping the e-mail delayed does not
 * keep its owner out.
 */

/** HMAC-SHA256 under LOGIN_THROTTLE_SECRET: without the secret a key cannot be matched to an e-mail. */
export const keyed = (secret: string, ...parts: string[]) =>
  createHmac('sha256', secret).update(parts.join('\n')).digest('hex')

/** The throttle's key of an e-mail (in its normal form, lib/identifiers.ts). */
export const emailKeyOf = (secret: string, email: string) => keyed(secret, 'email', email)

const ID = /^[A-Za-z0-9_-]{22}$/
const mac = (secret: string, email: string, id: string) =>
  createHmac('sha256', secret)
    .update(`device\n${emailKeyOf(secret, email)}\n${id}`)
    .digest()

/** The device id in `token` when it is a valid device token for `email`; undefined otherwise. */
export function knownDeviceId(secret: string, email: string, token: string | undefined): string | undefined {
  if (!token) return undefined
  const [id = '', tag = '', extra] = token.split('.')
  if (extra !== undefined || !ID.test(id)) return undefined
  const given = Buffer.from(tag, 'base64url')
  const expected = mac(secret, email, id)
  return given.length === expected.length && timingSafeEqual(given, expected) ? id : undefined
}

/** A device token for `email`; the device keeps its id when it already had a valid one. */
export function issueDeviceToken(secret: string, email: string, presented?: string): string {
  const id = knownDeviceId(secret, email, presented) ?? randomBytes(16).toString('base64url')
  return `${id}.${mac(secret, email, id).toString('base64url')}`
}
