import { createHmac, timingSafeEqual } from 'node:crypto'

export const TRACKING_BUCKET_MS = 300_000
const TOKEN_LENGTH = 32
const TOKEN_SHAPE = /^[0-9a-f]{32}$/

const bucketOf = (epochMs: number) => Math.floor(epochMs / TRACKING_BUCKET_MS)

const tokenFor = (secret: string, bioPageId: string, bucket: number) =>
  createHmac('sha256', secret).update(`${bioPageId}:${bucket}`).digest('hex').slice(0, TOKEN_LENGTH)

/**
 * The tracking token a server-rendered bio page embeds so its visits may be attributed to it:
 * HMAC-SHA256(secret, "<bioPageId>:<bucket>") as lowercase hex cut to 32 characters, with
 * bucket = floor(unix ms / 300000). It stays valid for the current and the next bucket.
 */
export function createTrackingToken(secret: string, bioPageId: string, nowMs: number = Date.now()): string {
  return tokenFor(secret, bioPageId.toLowerCase(), bucketOf(nowMs))
}

/** Accepts a token of the current or the previous 5-minute bucket; compares in constant time. */
export function verifyTrackingToken(
  secret: string,
  bioPageId: string,
  token: string | undefined,
  nowMs: number = Date.now(),
): boolean {
  // Shape first: 32 lowercase hex characters are 32 bytes, which timingSafeEqual needs.
  if (typeof token !== 'string' || !TOKEN_SHAPE.test(token)) return false
  const given = Buffer.from(token, 'utf8')
  const bucket = bucketOf(nowMs)
  let ok = false
  for (const b of [bucket, bucket - 1]) {
    const expected = Buffer.from(tokenFor(secret, bioPageId.toLowerCase(), b), 'utf8')
    // Both candidates are always compared, so timing does not reveal which bucket matched.
    ok = timingSafeEqual(expected, given) || ok
  }
  return ok
}
