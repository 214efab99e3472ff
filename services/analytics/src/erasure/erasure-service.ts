import type { FastifyBaseLogger } from 'fastify'
import type { AnalyticsDb } from '../ingest/writers.js'
import { hashVisitorId } from '../lib/visitor-hash.js'
import { eraseUser, forgetVisitor } from './erase.js'
import { openUserExport } from './export-stream.js'

export interface ErasureDeps {
  db: AnalyticsDb
  /** VISITOR_HASH_SECRET: hashes visitor ids like ingest and keys the tombstones. */
  visitorHashSecret: string
  /** Epoch milliseconds (tombstone expiry, the export's time). */
  now: () => number
}

/** Erasure and access: the routes' and `npm run analytics:erase`'s one way to each. */
export function createErasureService({ db, visitorHashSecret, now }: ErasureDeps) {
  return {
    eraseUser: (userId: string) => eraseUser(db, visitorHashSecret, userId.toLowerCase(), now()),
    forgetVisitor: (visitorId: string) =>
      forgetVisitor(db, visitorHashSecret, hashVisitorId(visitorHashSecret, visitorId), now()),
    openExport: (userId: string, log: FastifyBaseLogger, batchRows?: number) =>
      openUserExport(db, userId.toLowerCase(), now(), log, batchRows),
  }
}
export type ErasureService = ReturnType<typeof createErasureService>
