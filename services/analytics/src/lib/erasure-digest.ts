import { createHmac } from 'node:crypto'
import { CLIENT_ID_WINDOW } from './uuid-v7.js'

/**
 * The tombstone keys of erasure (table analytics_erasures): HMAC-SHA256 under
 * VISITOR_HASH_SECRET of a labelled input, base64url. One-way and keyed, so a tombstone reveals
 * neither the erased session id nor the visitor hash (which is itself never stored again), and the
 * labels keep the two kinds and the visitor hash itself apart.
 */
const digest = (secret: string, label: string, value: string): string =>
  createHmac('sha256', secret).update(`erasure:${label}:${value}`).digest('base64url')

/** The tombstone of an erased session id (lower-case UUID). */
export const sessionTombstone = (secret: string, sessionId: string): string =>
  digest(secret, 'session', sessionId.toLowerCase())

/** The tombstone of a forgotten visitor, from its stored hash (hashVisitorId). */
export const visitorTombstone = (secret: string, visitorHash: string): string =>
  digest(secret, 'visitor', visitorHash)

/**
 * How long a tombstone is kept: the client-id window. A client-chosen id is taken only while its
 * time is at most this old (and up to the skew ahead), so after it an erased session id can no
 * longer be chosen again. A forgotten visitor id arriving later (a tab open for days) starts a
 * new, unlinked history: nothing of the erased one is left to attach to.
 */
export const TOMBSTONE_TTL_MS = CLIENT_ID_WINDOW.maxAgeMs + CLIENT_ID_WINDOW.maxSkewMs
