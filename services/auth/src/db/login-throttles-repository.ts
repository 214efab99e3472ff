import { type Db, rowsOf } from '@bio/service-kit'
import { eq, sql } from 'drizzle-orm'
import type { ThrottleCounter, ThrottleScope } from '../domain/login-throttle-policy.js'
import { type AuthSchema, loginThrottles } from './schema.js'

export interface CounterKey {
  key: string
  scope: ThrottleScope
  emailKey: string
}

/** Counters of the sign-in throttle; `lock` must run inside a transaction. */
export function loginThrottlesRepository(db: Db<AuthSchema>) {
  return {
    /**
     * Creates the missing counters and locks all of them (FOR UPDATE) until the transaction ends,
     * in one statement: an upsert locks the row it finds, and re-creates one a concurrent prune
     * has just deleted (a separate SELECT … FOR UPDATE would find nothing then). Rows are taken
     * in key order, so concurrent attempts sharing an e-mail never deadlock; they are returned in
     * the order of `keys`.
     */
    async lock<const K extends readonly CounterKey[]>(
      keys: K,
      now: Date,
    ): Promise<{ [I in keyof K]: ThrottleCounter }> {
      const ordered = [...keys].sort((a, b) => (a.key < b.key ? -1 : 1))
      const rows = await db
        .insert(loginThrottles)
        .values(ordered.map((k) => ({ ...k, failures: 0, expiresAt: now })))
        .onConflictDoUpdate({ target: loginThrottles.key, set: { key: sql`excluded.key` } })
        .returning()
      const counters = keys.map((k) => {
        const row = rows.find((r) => r.key === k.key)
        if (!row) throw new Error('login_throttles upsert returned no row for a key')
        return row
      })
      return counters as { [I in keyof K]: ThrottleCounter }
    },

    async save(counters: ThrottleCounter[]): Promise<void> {
      for (const c of counters) {
        await db
          .update(loginThrottles)
          .set({
            failures: c.failures,
            lastFailedAt: c.lastFailedAt,
            blockedUntil: c.blockedUntil,
            trustedUntil: c.trustedUntil,
            expiresAt: c.expiresAt,
          })
          .where(eq(loginThrottles.key, c.key))
      }
    },

    /** Forgets every counter of one e-mail (its own and those of every network). */
    async deleteForEmail(emailKey: string): Promise<number> {
      const rows = await db
        .delete(loginThrottles)
        .where(eq(loginThrottles.emailKey, emailKey))
        .returning({ key: loginThrottles.key })
      return rows.length
    },

    /** Deletes up to `limit` counters that mean nothing any more; rows in use are skipped. */
    async pruneExpired(now: Date, limit: number): Promise<number> {
      const rows = await db.execute<{ key: string }>(sql`
        delete from ${loginThrottles} where ${loginThrottles.key} in (
          select ${loginThrottles.key} from ${loginThrottles}
          where ${loginThrottles.expiresAt} < ${now.toISOString()}::timestamptz
          limit ${limit} for update skip locked
        ) returning ${loginThrottles.key}`)
      return rowsOf(rows).length
    },
  }
}
export type LoginThrottlesRepository = ReturnType<typeof loginThrottlesRepository>
