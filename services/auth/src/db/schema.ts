import { sql } from 'drizzle-orm'
import {
  boolean,
  check,
  index,
  integer,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core'

export const USER_STATUSES = ['ACTIVE', 'SUSPENDED', 'BANNED', 'DELETED', 'DEACTIVATED'] as const
export type UserStatus = (typeof USER_STATUSES)[number]

const tstz = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' })

export const users = pgTable(
  'users',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    email: text('email').notNull(),
    passwordHash: text('password_hash'),
    username: text('username'),
    displayName: text('display_name'),
    avatarUrl: text('avatar_url'),
    status: text('status', { enum: USER_STATUSES }).notNull().default('ACTIVE'),
    emailVerified: boolean('email_verified').notNull().default(false),
    locale: text('locale').notNull(),
    intent: text('intent', { enum: ['creator', 'fan'] }),
    referralCode: text('referral_code').notNull(),
    referredBy: uuid('referred_by'),
    utmSource: text('utm_source'),
    utmMedium: text('utm_medium'),
    utmCampaign: text('utm_campaign'),
    utmTerm: text('utm_term'),
    utmContent: text('utm_content'),
    firstReferrerUrl: text('first_referrer_url'),
    firstLandingPage: text('first_landing_page'),
    acquiredViaCreatorId: uuid('acquired_via_creator_id'),
    registrationDevice: text('registration_device'),
    registrationCountry: text('registration_country'),
    termsVersion: text('terms_version').notNull(),
    termsAcceptedAt: tstz('terms_accepted_at').notNull(),
    privacyVersion: text('privacy_version').notNull(),
    privacyAcceptedAt: tstz('privacy_accepted_at').notNull(),
    lastLoginAt: tstz('last_login_at'),
    createdAt: tstz('created_at').notNull().defaultNow(),
    updatedAt: tstz('updated_at').notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('users_email_lower_key').on(sql`lower(${t.email})`),
    uniqueIndex('users_username_lower_key').on(sql`lower(${t.username})`),
    uniqueIndex('users_referral_code_key').on(t.referralCode),
    check(
      'users_status_check',
      sql`${t.status} in ('ACTIVE', 'SUSPENDED', 'BANNED', 'DELETED', 'DEACTIVATED')`,
    ),
    check('users_intent_check', sql`${t.intent} is null or ${t.intent} in ('creator', 'fan')`),
  ],
)

/** One row per issued refresh token ("Session" in the contract); the token itself is never stored. */
export const refreshSessions = pgTable(
  'refresh_sessions',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    tokenHash: text('token_hash').notNull(),
    userAgent: text('user_agent'),
    ipMasked: text('ip_masked'),
    createdAt: tstz('created_at').notNull().defaultNow(),
    lastActiveAt: tstz('last_active_at').notNull().defaultNow(),
    expiresAt: tstz('expires_at').notNull(),
    rotatedAt: tstz('rotated_at'),
    revokedAt: tstz('revoked_at'),
    replacedBy: uuid('replaced_by'),
  },
  (t) => [
    uniqueIndex('refresh_sessions_token_hash_key').on(t.tokenHash),
    index('refresh_sessions_user_id_idx').on(t.userId),
  ],
)

export const reservedUsernames = pgTable('reserved_usernames', {
  username: text('username').primaryKey(),
})

/**
 * Sign-in throttle counters (see domain/login-throttle-policy.ts): one row per e-mail key and one
 * per (e-mail, client network) key, whether or not an account has that e-mail. Keys are SHA-256
 * digests: neither the e-mail nor the IP is stored.
 */
export const loginThrottles = pgTable(
  'login_throttles',
  {
    key: text('key').primaryKey(),
    scope: text('scope', { enum: ['network', 'email'] }).notNull(),
    emailKey: text('email_key').notNull(),
    failures: integer('failures').notNull().default(0),
    lastFailedAt: tstz('last_failed_at'),
    blockedUntil: tstz('blocked_until'),
    trustedUntil: tstz('trusted_until'),
    expiresAt: tstz('expires_at').notNull(),
  },
  (t) => [
    index('login_throttles_email_key_idx').on(t.emailKey),
    index('login_throttles_expires_at_idx').on(t.expiresAt),
    check('login_throttles_scope_check', sql`${t.scope} in ('network', 'email')`),
  ],
)

export const schema = { users, refreshSessions, reservedUsernames, loginThrottles }
export type AuthSchema = typeof schema
export type UserRow = typeof users.$inferSelect
export type RefreshSessionRow = typeof refreshSessions.$inferSelect
export type LoginThrottleRow = typeof loginThrottles.$inferSelect
