import type { Db } from '@bio/shared'
import { and, eq, isNull } from 'drizzle-orm'
import { type AuthSchema, type RefreshSessionRow, refreshSessions } from './schema.js'

export type NewRefreshSession = typeof refreshSessions.$inferInsert

export function refreshSessionsRepository(db: Db<AuthSchema>) {
  return {
    async insert(values: NewRefreshSession): Promise<string> {
      const [row] = await db.insert(refreshSessions).values(values).returning({ id: refreshSessions.id })
      return row!.id
    },

    async findByTokenHash(tokenHash: string): Promise<RefreshSessionRow | undefined> {
      const [row] = await db
        .select()
        .from(refreshSessions)
        .where(eq(refreshSessions.tokenHash, tokenHash))
        .limit(1)
      return row
    },

    /**
     * Marks a live session rotated. Only one caller can win for a given session: the UPDATE's
     * WHERE re-checks `rotated_at is null`, so a concurrent second use of the token gets `false`.
     */
    async claimForRotation(id: string, at: Date): Promise<boolean> {
      const rows = await db
        .update(refreshSessions)
        .set({ rotatedAt: at, lastActiveAt: at })
        .where(
          and(
            eq(refreshSessions.id, id),
            isNull(refreshSessions.rotatedAt),
            isNull(refreshSessions.revokedAt),
          ),
        )
        .returning({ id: refreshSessions.id })
      return rows.length === 1
    },

    async setReplacedBy(id: string, replacedBy: string): Promise<void> {
      await db.update(refreshSessions).set({ replacedBy }).where(eq(refreshSessions.id, id))
    },

    async revokeAllForUser(userId: string, at: Date): Promise<number> {
      const rows = await db
        .update(refreshSessions)
        .set({ revokedAt: at })
        .where(and(eq(refreshSessions.userId, userId), isNull(refreshSessions.revokedAt)))
        .returning({ id: refreshSessions.id })
      return rows.length
    },

    async revokeByTokenHash(tokenHash: string, at: Date): Promise<void> {
      await db
        .update(refreshSessions)
        .set({ revokedAt: at })
        .where(and(eq(refreshSessions.tokenHash, tokenHash), isNull(refreshSessions.revokedAt)))
    },
  }
}
export type RefreshSessionsRepository = ReturnType<typeof refreshSessionsRepository>
