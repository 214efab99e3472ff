import type { Db } from '@bio/service-kit'
import { and, eq, isNull } from 'drizzle-orm'
import { type AccountTokenPurpose, type AuthSchema, accountTokens } from './schema.js'

export type AccountTokenRow = typeof accountTokens.$inferSelect

export function accountTokensRepository(db: Db<AuthSchema>) {
  return {
    /** Stores a new token's hash and invalidates the user's older live tokens of the same purpose. */
    /** Stores a new token's hash and invalidates the user's older live tokens of the same purpose. */
    async issue(userId: string, purpose: AccountTokenPurpose, tokenHash: string, at: Date, expiresAt: Date) {
      await this.invalidateAll(userId, purpose, at)
      await db.insert(accountTokens).values({ userId, purpose, tokenHash, createdAt: at, expiresAt })
    },

    async findByHash(purpose: AccountTokenPurpose, tokenHash: string): Promise<AccountTokenRow | undefined> {
      const [row] = await db
        .select()
        .from(accountTokens)
        .where(and(eq(accountTokens.tokenHash, tokenHash), eq(accountTokens.purpose, purpose)))
        .limit(1)
      return row
    },

    /** Marks a live token used; false when another request consumed (or a newer token replaced) it first. */
    async consume(id: string, at: Date): Promise<boolean> {
      const rows = await db
        .update(accountTokens)
        .set({ usedAt: at })
        .where(
          and(eq(accountTokens.id, id), isNull(accountTokens.usedAt), isNull(accountTokens.invalidatedAt)),
        )
        .returning({ id: accountTokens.id })
      return rows.length === 1
    },

    /** Invalidates every live token of a purpose (a completed reset voids the other reset links). */
    async invalidateAll(userId: string, purpose: AccountTokenPurpose, at: Date): Promise<void> {
      await db
        .update(accountTokens)
        .set({ invalidatedAt: at })
        .where(
          and(
            eq(accountTokens.userId, userId),
            eq(accountTokens.purpose, purpose),
            isNull(accountTokens.usedAt),
            isNull(accountTokens.invalidatedAt),
          ),
        )
    },
  }
}
