import { randomBytes } from 'node:crypto'

/** 32 symbols without look-alikes (no I, O, 0, 1): 256 is a multiple of 32, so each is equally likely. */
const ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789'

/** A user's own referral code: 10 characters (50 bits). */
export function newReferralCode(): string {
  let out = ''
  for (const b of randomBytes(10)) out += ALPHABET[b % ALPHABET.length]
  return out
}
