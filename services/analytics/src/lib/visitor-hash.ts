import { createHmac } from 'node:crypto'

/**
 * The stored form of a visitor id: HMAC-SHA256 keyed with VISITOR_HASH_SECRET, lowercase hex.
 * Keyed, so the hash cannot be reversed by hashing guessed ids; stable, so unique visitors count.
 */
export const hashVisitorId = (secret: string, visitorId: string): string =>
  createHmac('sha256', secret).update(visitorId).digest('hex')
