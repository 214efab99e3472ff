import { createHash, randomBytes } from 'node:crypto'

/** 256 random bits, base64url: what the client holds. Only its SHA-256 is stored. */
export const newRefreshToken = (): string => randomBytes(32).toString('base64url')

export const hashRefreshToken = (token: string): string => createHash('sha256').update(token).digest('hex')

const ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789'
/** A user's own referral code: 10 characters without look-alikes (about 50 bits). */
export function newReferralCode(): string {
  const bytes = randomBytes(10)
  let out = ''
  for (const b of bytes) out += ALPHABET[b % ALPHABET.length]
  return out
}
