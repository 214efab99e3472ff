import { AppError, type Db, violatedConstraint } from '@bio/shared'
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

    async findByEmail(email: string): Promise<UserRow | undefined> {
      const [row] = await db
        .select()
        .from(users)
        .where(sql`lower(${users.email}) = ${email.toLowerCase()}`)
        .limit(1)
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

    async isReserved(username: string): Promise<boolean> {
      const [row] = await db
        .select({ username: reservedUsernames.username })
        .from(reservedUsernames)
        .where(eq(reservedUsernames.username, username.toLowerCase()))
        .limit(1)
      return row !== undefined
    },

    /** Counts a failed login in one atomic UPDATE and locks the account when the threshold is reached. */
    async recordFailedLogin(id: string, threshold: number, lockUntil: Date): Promise<boolean> {
      const rows = await db
        .update(users)
        .set({
          loginAttempts: sql`case when ${users.loginAttempts} + 1 >= ${threshold} then 0 else ${users.loginAttempts} + 1 end`,
          lockedUntil: sql`case when ${users.loginAttempts} + 1 >= ${threshold} then ${lockUntil.toISOString()}::timestamptz else ${users.lockedUntil} end`,
        })
        .where(eq(users.id, id))
        .returning({ lockedUntil: users.lockedUntil })
      // True when this failure is the one that locked the account.
      return rows[0]?.lockedUntil?.getTime() === lockUntil.getTime()
    },

    /** Forgets failed logins and lifts a lock. */
    async clearLoginFailures(id: string): Promise<void> {
      await db.update(users).set({ loginAttempts: 0, lockedUntil: null }).where(eq(users.id, id))
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
          loginAttempts: 0,
          lockedUntil: null,
          lastLoginAt: at,
          ...(newPasswordHash ? { passwordHash: newPasswordHash, updatedAt: at } : {}),
        })
        .where(eq(users.id, id))
    },
  }
}
export type UsersRepository = ReturnType<typeof usersRepository>
