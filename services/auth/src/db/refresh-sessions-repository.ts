import type { Db } from '@bio/service-kit'
import { and, desc, eq, gt, isNull, ne } from 'drizzle-orm'
import { type AuthSchema, type RefreshSessionRow, refreshSessions } from './schema.js'

const live = () => and(isNull(refreshSessions.rotatedAt), isNull(refreshSessions.revokedAt))

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

    /** Revokes the session of a token; returns its user id, or undefined when no live session matched. */
    async revokeByTokenHash(tokenHash: string, at: Date): Promise<string | undefined> {
      const rows = await db
        .update(refreshSessions)
        .set({ revokedAt: at })
        .where(and(eq(refreshSessions.tokenHash, tokenHash), isNull(refreshSessions.revokedAt)))
        .returning({ userId: refreshSessions.userId })
      return rows[0]?.userId
    },

    /** The user's live sessions (neither rotated, revoked nor expired), most recently active first. */
    async listActive(userId: string, now: Date): Promise<RefreshSessionRow[]> {
      return db
        .select()
        .from(refreshSessions)
        .where(and(eq(refreshSessions.userId, userId), live(), gt(refreshSessions.expiresAt, now)))
        .orderBy(desc(refreshSessions.lastActiveAt), desc(refreshSessions.createdAt))
    },

    /** Revokes one live session of `userId`; false when there is none with that id (for this user). */
    async revokeOne(id: string, userId: string, at: Date): Promise<boolean> {
      const rows = await db
        .update(refreshSessions)
        .set({ revokedAt: at })
        .where(and(eq(refreshSessions.id, id), eq(refreshSessions.userId, userId), live()))
        .returning({ id: refreshSessions.id })
      return rows.length === 1
    },

    /** Revokes every live session of `userId` but `keepId`; returns how many. */
    async revokeAllExcept(userId: string, keepId: string, at: Date): Promise<number> {
      const rows = await db
        .update(refreshSessions)
        .set({ revokedAt: at })
        .where(
          and(
            eq(refreshSessions.userId, userId),
            ne(refreshSessions.id, keepId),
            isNull(refreshSessions.revokedAt),
          ),
        )
        .returning({ id: refreshSessions.id })
      return rows.length
    },
  }
}
export type RefreshSessionsRepository = ReturnType<typeof refreshSessionsRepository>
