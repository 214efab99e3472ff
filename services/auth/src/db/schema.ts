import { sql } from 'drizzle-orm'
import {
  bigserial,
  boolean,
  check,
  index,
  integer,
  jsonb,
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
    /**
     * @deprecated Unused since the sign-in throttle (login_throttles); kept one release so the
     * previous release keeps working during a rolling deploy, then dropped. Nothing reads or
     * writes it.
     */
    loginAttempts: integer('login_attempts').notNull().default(0),
    /** @deprecated Unused, like `loginAttempts`; dropped in a later release. */
    lockedUntil: tstz('locked_until'),
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

export const ACCOUNT_TOKEN_PURPOSES = ['verify_email', 'reset_password'] as const
export type AccountTokenPurpose = (typeof ACCOUNT_TOKEN_PURPOSES)[number]

/**
 * Single-use tokens mailed to a user (EmailVerification and PasswordReset in the contract). Only
 * the SHA-256 of the token is stored; issuing a new one sets `invalidated_at` on the older ones.
 */
export const accountTokens = pgTable(
  'account_tokens',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    purpose: text('purpose', { enum: ACCOUNT_TOKEN_PURPOSES }).notNull(),
    tokenHash: text('token_hash').notNull(),
    createdAt: tstz('created_at').notNull().defaultNow(),
    expiresAt: tstz('expires_at').notNull(),
    usedAt: tstz('used_at'),
    invalidatedAt: tstz('invalidated_at'),
  },
  (t) => [
    uniqueIndex('account_tokens_token_hash_key').on(t.tokenHash),
    index('account_tokens_user_purpose_idx').on(t.userId, t.purpose),
    check('account_tokens_purpose_check', sql`${t.purpose} in ('verify_email', 'reset_password')`),
  ],
)

export const MAIL_KINDS = ['verify_email', 'reset_password', 'password_changed', 'refresh_reuse'] as const
export type MailKind = (typeof MAIL_KINDS)[number]
export const MAIL_STATUSES = ['pending', 'sent', 'skipped', 'failed'] as const

/**
 * The mail outbox: one row per mail to send, written in the transaction of the action that causes
 * it. A row is an intent (kind + user, or the e-mail asked about): the sender resolves the
 * recipient and issues any token at send time, so no raw token is ever stored.
 */
export const mailOutbox = pgTable(
  'mail_outbox',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    kind: text('kind', { enum: MAIL_KINDS }).notNull(),
    userId: uuid('user_id'),
    /** The address asked about (forgot-password, resend): cleared once the row is processed. */
    requestedEmail: text('requested_email'),
    /** Where the mail went, once sent. */
    recipient: text('recipient'),
    status: text('status', { enum: MAIL_STATUSES }).notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: tstz('next_attempt_at').notNull().defaultNow(),
    /** A sender holds the row until then; after a crash another (or the restarted) one takes it. */
    leasedUntil: tstz('leased_until'),
    lastError: text('last_error'),
    createdAt: tstz('created_at').notNull().defaultNow(),
    processedAt: tstz('processed_at'),
  },
  (t) => [
    index('mail_outbox_due_idx').on(t.nextAttemptAt).where(sql`${t.status} = 'pending'`),
    check(
      'mail_outbox_kind_check',
      sql`${t.kind} in ('verify_email', 'reset_password', 'password_changed', 'refresh_reuse')`,
    ),
    check('mail_outbox_status_check', sql`${t.status} in ('pending', 'sent', 'skipped', 'failed')`),
  ],
)

export const AUDIT_EVENTS = [
  'auth.register.success',
  'auth.login.success',
  'auth.login.failure',
  'auth.login.locked',
  'auth.refresh.reuse_detected',
  'auth.logout.success',
  'auth.email.verified',
  'auth.password_reset.requested',
  'auth.password_reset.completed',
  'auth.password.changed',
  'auth.session.revoked',
] as const
export type AuditEventType = (typeof AUDIT_EVENTS)[number]

/** Append-only security log (a trigger refuses UPDATE); pruned by AUDIT_RETENTION_DAYS. */
export const authAuditEvents = pgTable(
  'auth_audit_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    event: text('event', { enum: AUDIT_EVENTS }).notNull(),
    /** No foreign key: the log outlives the rows it talks about. */
    userId: uuid('user_id'),
    ipMasked: text('ip_masked'),
    userAgent: text('user_agent'),
    correlationId: text('correlation_id'),
    details: jsonb('details').$type<Record<string, string | number | boolean>>(),
    createdAt: tstz('created_at').notNull().defaultNow(),
  },
  (t) => [
    index('auth_audit_events_user_idx').on(t.userId, t.createdAt),
    index('auth_audit_events_created_idx').on(t.createdAt),
  ],
)

export const schema = {
  users,
  refreshSessions,
  reservedUsernames,
  loginThrottles,
  accountTokens,
  mailOutbox,
  authAuditEvents,
}
export type AuthSchema = typeof schema
export type UserRow = typeof users.$inferSelect
export type RefreshSessionRow = typeof refreshSessions.$inferSelect
export type LoginThrottleRow = typeof loginThrottles.$inferSelect
export type MailOutboxRow = typeof mailOutbox.$inferSelect
