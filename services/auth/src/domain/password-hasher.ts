import argon2 from 'argon2'
import { parseArgon2Phc, toStandardOrder } from './phc-argon2.js'

/** How passwords are hashed; injectable so tests can use cheap parameters. */
export interface PasswordHasher {
  hash(password: string): Promise<string>
  verify(hash: string, password: string): Promise<boolean>
  /** True when `hash` was made with other parameters and should be replaced on next login. */
  needsRehash(hash: string): boolean
}

export interface Argon2Params {
  memoryCost: number
  timeCost: number
  parallelism: number
}

/**
 * argon2id through the `argon2` addon, which hashes on libuv's thread pool: the event loop is
 * never blocked. Defaults follow OWASP's minimum (19 MiB, t=2, p=1). Hashes are stored in the
 * standard PHC order (`m,t,p`, see phc-argon2.ts); a hash in another order still verifies and is
 * due for a rehash, so the next sign-in stores the standard form.
 */
export function argon2Hasher(params: Argon2Params): PasswordHasher {
  const options = { type: argon2.argon2id as 0 | 1 | 2, ...params }
  return {
    hash: async (password) => toStandardOrder(await argon2.hash(password, options)),
    verify: async (hash, password) => {
      try {
        return await argon2.verify(hash, password)
      } catch {
        return false
      }
    },
    needsRehash: (hash) => {
      if (!parseArgon2Phc(hash)) return true
      try {
        return argon2.needsRehash(hash, options)
      } catch {
        return true
      }
    },
  }
}
