import { sql } from 'drizzle-orm'
import {
  boolean,
  check,
  doublePrecision,
  index,
  integer,
  pgTable,
  text,
  timestamp,
  uuid,
} from 'drizzle-orm/pg-core'

const tstz = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' })

/** An anonymous visit. `userId` refers to the auth database's users; there is no foreign key across databases. */
export const analyticsSessions = pgTable(
  'analytics_sessions',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    visitorId: text('visitor_id').notNull(),
    userId: uuid('user_id'),
    bioPageId: uuid('bio_page_id'),
    device: text('device'),
    browser: text('browser'),
    os: text('os'),
    osVersion: text('os_version'),
    timezone: text('timezone'),
    country: text('country'),
    city: text('city'),
    referrer: text('referrer'),
    referrerDomain: text('referrer_domain').notNull().default('direct'),
    landingPage: text('landing_page'),
    utmSource: text('utm_source'),
    utmMedium: text('utm_medium'),
    utmCampaign: text('utm_campaign'),
    utmTerm: text('utm_term'),
    utmContent: text('utm_content'),
    pageViews: integer('page_views').notNull().default(0),
    bounced: boolean('bounced').notNull().default(true),
    duration: integer('duration').notNull().default(0),
    /** The highest heartbeat `seq` counted; a beat at or below it is a retry and adds nothing. */
    heartbeatSeq: integer('heartbeat_seq'),
    startedAt: tstz('started_at').notNull().defaultNow(),
    lastActivityAt: tstz('last_activity_at').notNull().defaultNow(),
  },
  // Only what the dashboards and erasure need: every index is paid for on each ingest write, so
  // the partial ones cost nothing for the common anonymous session without a bio page.
  (t) => [
    index('analytics_sessions_bio_page_started_idx')
      .on(t.bioPageId, t.startedAt)
      .where(sql`${t.bioPageId} is not null`),
    index('analytics_sessions_user_idx').on(t.userId).where(sql`${t.userId} is not null`),
    // Forgetting a visitor finds its sessions while ingest waits on the erasure's lock: a probe,
    // not a scan of the whole table.
    index('analytics_sessions_visitor_idx').on(t.visitorId),
    check('analytics_sessions_counters_check', sql`${t.pageViews} >= 0 and ${t.duration} >= 0`),
  ],
)

export const analyticsPageViews = pgTable(
  'analytics_pageviews',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    sessionId: uuid('session_id')
      .notNull()
      .references(() => analyticsSessions.id, { onDelete: 'cascade' }),
    bioPageId: uuid('bio_page_id'),
    path: text('path').notNull(),
    title: text('title'),
    referrer: text('referrer'),
    linkClicked: uuid('link_clicked'),
    enteredAt: tstz('entered_at').notNull().defaultNow(),
    /** Seconds: back-filled from the next pageview (0..3600) or set by the leave ping (clamped). */
    duration: doublePrecision('duration'),
    scrollDepth: doublePrecision('scroll_depth'),
    /** When the leave ping last arrived. */
    leftAt: tstz('left_at'),
    /** Whole seconds this view's leave ping added to its session; a repeated ping replaces them. */
    leaveSeconds: integer('leave_seconds'),
  },
  (t) => [
    // The back-fill looks up a session's latest view, `order by entered_at desc, id desc limit 1`:
    // with `id` in the key that is one backward index-only probe, not a bitmap scan and a sort.
    index('analytics_pageviews_session_entered_id_idx').on(t.sessionId, t.enteredAt, t.id),
    index('analytics_pageviews_bio_page_entered_idx')
      .on(t.bioPageId, t.enteredAt)
      .where(sql`${t.bioPageId} is not null`),
    check(
      'analytics_pageviews_ranges_check',
      sql`(${t.duration} is null or ${t.duration} between 0 and 3600) and (${t.scrollDepth} is null or ${t.scrollDepth} between 0 and 100)`,
    ),
  ],
)

/**
 * Tombstones of erased sessions and forgotten visitors: only a keyed one-way digest
 * (lib/erasure-digest.ts), never the session id, visitor hash or user id. The session insert
 * skips a row whose id or visitor has one, so a retried or late write cannot bring erased data
 * back. Kept for the client-id window (after it no client-chosen id of the erased time is taken),
 * then pruned by the next erasure.
 */
export const analyticsErasures = pgTable(
  'analytics_erasures',
  {
    digest: text('digest').primaryKey(),
    expiresAt: tstz('expires_at').notNull(),
  },
  (t) => [index('analytics_erasures_expires_idx').on(t.expiresAt)],
)

export const schema = { analyticsSessions, analyticsPageViews, analyticsErasures }
export type AnalyticsSchema = typeof schema
