import { AppError } from '@bio/contracts'
import { type Db, violatedConstraint } from '@bio/service-kit'
import { eq, sql } from 'drizzle-orm'
import { AuthErrors } from '../errors.js'
import { type AuthSchema, reservedUsernames, type UserRow, users } from './schema.js'

export type NewUser = typeof users.$inferInsert

const CONSTRAINT_ERRORS: Record<string, typeof AuthErrors.EMAIL_TAKEN> = {
  users_email_lower_key: AuthErrors.EMAIL_TAKEN,
  users_username_lower_key: AuthErrors.USERNAME_TAKEN,
}

export function usersRepository(db: Db<AuthSchema>) {
  return {
    /** Inserts a user; a duplicate e-mail or username (any case) becomes EMAIL_TAKEN / USERNAME_TAKEN. */
    async insert(values: NewUser): Promise<string> {
      try {
        const [row] = await db.insert(users).values(values).returning({ id: users.id })
        return row!.id
      } catch (err) {
        const spec = CONSTRAINT_ERRORS[violatedConstraint(err) ?? '']
        if (spec) throw new AppError(spec, { cause: err })
        throw err
      }
    },

    /** `email` in its normal form (lib/identifiers.ts); `lower()` matches the unique index. */
    async findByEmail(email: string): Promise<UserRow | undefined> {
      const [row] = await db.select().from(users).where(sql`lower(${users.email}) = ${email}`).limit(1)
      return row
    },

    async findById(id: string): Promise<UserRow | undefined> {
      const [row] = await db.select().from(users).where(eq(users.id, id)).limit(1)
      return row
    },

    async findIdByReferralCode(code: string): Promise<string | undefined> {
      const [row] = await db.select({ id: users.id }).from(users).where(eq(users.referralCode, code)).limit(1)
      return row?.id
    },

    /** Every reserved username, as stored (lower case); the caller compares folded forms. */
    async reservedUsernames(): Promise<string[]> {
      const rows = await db.select({ username: reservedUsernames.username }).from(reservedUsernames)
      return rows.map((r) => r.username)
    },

    /** Replaces the password hash; `verifyEmail` also marks the address proven (a mailed reset link). */
    async setPasswordHash(id: string, passwordHash: string, at: Date, verifyEmail = false): Promise<void> {
      await db
        .update(users)
        .set({ passwordHash, updatedAt: at, ...(verifyEmail ? { emailVerified: true } : {}) })
        .where(eq(users.id, id))
    },

    async markEmailVerified(id: string, at: Date): Promise<void> {
      await db.update(users).set({ emailVerified: true, updatedAt: at }).where(eq(users.id, id))
    },

    async recordSuccessfulLogin(id: string, at: Date, newPasswordHash?: string): Promise<void> {
      await db
        .update(users)
        .set({
          lastLoginAt: at,
          ...(newPasswordHash ? { passwordHash: newPasswordHash, updatedAt: at } : {}),
        })
        .where(eq(users.id, id))
    },
  }
}
export type UsersRepository = ReturnType<typeof usersRepository>
