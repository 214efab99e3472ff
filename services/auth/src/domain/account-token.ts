import { createHash, randomUUID } from 'node:crypto'

/** A mailed single-use token: a UUID v4 (the contract's format, 122 random bits). */
export const newAccountToken = (): string => randomUUID()

/** Only this is stored: a leaked table gives nobody a working link. */
export const hashAccountToken = (token: string): string =>
  createHash('sha256').update(token.toLowerCase()).digest('hex')
