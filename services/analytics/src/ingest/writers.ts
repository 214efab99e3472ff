import { type Db, executePrepared } from '@bio/shared'
import { sql } from 'drizzle-orm'
import type { AnalyticsSchema } from '../db/schema.js'

/**
 * Set-based writes for whole batches. Each batch travels as one JSON parameter unpacked by
 * `json_to_recordset`, so a batch of 500 costs the same few round trips as a batch of 1, and the
 * statement text never changes, so it is prepared once per connection (`executePrepared`).
 */

export interface SessionRow {
  id: string
  visitorId: string
  bioPageId: string | null
  device: string | null
  browser: string | null
  os: string | null
  osVersion: string | null
  timezone: string | null
  country: string | null
  city: string | null
  referrer: string | null
  referrerDomain: string
  landingPage: string | null
  utmSource: string | null
  utmMedium: string | null
  utmCampaign: string | null
  utmTerm: string | null
  utmContent: string | null
  startedAt: string
}

export interface PageViewItem {
  id: string
  sessionId: string
  path: string
  title: string | null
  referrer: string | null
  linkClicked: string | null
  enteredAt: string
}

export interface LeaveItem {
  id: string
  duration: number
  scrollDepth: number | null
}

export interface IdentifyItem {
  id: string
  userId: string
}

type AnalyticsDb = Db<AnalyticsSchema>
const json = (rows: unknown[]) => sql`${JSON.stringify(rows)}::json`
const withOrder = <T>(items: T[]) => items.map((item, ord) => ({ ...item, ord }))
const GAP_MIN = sql.raw(`interval '0 seconds'`)
const GAP_MAX = sql.raw(`interval '3600 seconds'`)

export async function writeSessions(db: AnalyticsDb, rows: SessionRow[]): Promise<(string | null)[]> {
  await executePrepared(
    db,
    sql`
    insert into analytics_sessions (id, visitor_id, bio_page_id, device, browser, os, os_version, timezone,
      country, city, referrer, referrer_domain, landing_page, utm_source, utm_medium, utm_campaign, utm_term,
      utm_content, started_at, last_activity_at)
    select r."id", r."visitorId", r."bioPageId", r."device", r."browser", r."os", r."osVersion", r."timezone",
      r."country", r."city", r."referrer", r."referrerDomain", r."landingPage", r."utmSource", r."utmMedium",
      r."utmCampaign", r."utmTerm", r."utmContent", r."startedAt", r."startedAt"
    from json_to_recordset(${json(rows)}) as r("id" uuid, "visitorId" text, "bioPageId" uuid, "device" text,
      "browser" text, "os" text, "osVersion" text, "timezone" text, "country" text, "city" text, "referrer" text,
      "referrerDomain" text, "landingPage" text, "utmSource" text, "utmMedium" text, "utmCampaign" text,
      "utmTerm" text, "utmContent" text, "startedAt" timestamptz)`,
  )
  return rows.map((r) => r.id)
}

/**
 * Pageviews, in ONE statement (one round trip, its own atomic commit):
 * - `i`: the batch's views whose session exists, with the session's verified bio page and, per
 *   session, the arrival time of the next view of the same batch;
 * - `ins`: inserts them; a view followed by another in the same batch gets its duration now;
 * - `counted`: one atomic UPDATE per touched session, `page_views + n` and `bounced` computed
 *   from the new count (no read-then-write);
 * - `backfilled`: the session's latest earlier view (read from the statement's snapshot, so it
 *   is the predecessor of the batch's first view) gets the gap as its duration.
 * Durations are written only when the gap lies in [0, 3600] s. A session's views never travel in
 * two batches at once (lanes are keyed by session), so arrival order is the order written.
 */
export async function writePageViews(db: AnalyticsDb, items: PageViewItem[]): Promise<(string | null)[]> {
  const rows = await executePrepared<{ id: string }>(
    db,
    sql`
      with i as (
        select x."id", x."sessionId", x."path", x."title", x."referrer", x."linkClicked", x."enteredAt",
               s.bio_page_id,
               lead(x."enteredAt") over (partition by x."sessionId" order by x."enteredAt", x."ord") as next_at
        from json_to_recordset(${json(withOrder(items))}) as x("id" uuid, "sessionId" uuid, "path" text,
          "title" text, "referrer" text, "linkClicked" uuid, "enteredAt" timestamptz, "ord" int)
        join analytics_sessions s on s.id = x."sessionId"
      ), ins as (
        insert into analytics_pageviews (id, session_id, bio_page_id, path, title, referrer, link_clicked, entered_at, duration)
        select "id", "sessionId", bio_page_id, "path", "title", "referrer", "linkClicked", "enteredAt",
               case when next_at - "enteredAt" between ${GAP_MIN} and ${GAP_MAX}
                    then extract(epoch from next_at - "enteredAt") end
        from i
        returning id, session_id, entered_at
      ), per_session as (
        select session_id, count(*)::int as n, min(entered_at) as first_at, max(entered_at) as last_at
        from ins group by 1
      ), counted as (
        update analytics_sessions s
        set page_views = s.page_views + p.n,
            bounced = s.page_views + p.n < 2,
            last_activity_at = greatest(s.last_activity_at, p.last_at)
        from per_session p
        where s.id = p.session_id
      ), prev as (
        select v.id, p.first_at - v.entered_at as gap
        from per_session p
        cross join lateral (
          select id, entered_at from analytics_pageviews
          where session_id = p.session_id
          order by entered_at desc, id desc
          limit 1
        ) v
      ), backfilled as (
        update analytics_pageviews v
        set duration = extract(epoch from prev.gap)
        from prev
        where v.id = prev.id and prev.gap between ${GAP_MIN} and ${GAP_MAX}
      )
      select id from ins`,
  )
  const written = new Set(rows.map((r) => r.id))
  return items.map((item) => (written.has(item.id) ? item.id : null))
}

/**
 * Page-leave pings: duration clamped to [0, 3600], scroll depth to [0, 100] (NULL stays NULL).
 * The session's duration grows by round(duration) minus the seconds an earlier leave of the same
 * view added (`leave_seconds`), so a repeated ping (visibilitychange, then pagehide) replaces
 * rather than double-counts, whatever a back-fill did to the view's duration in between. Within
 * a batch the last ping per view wins. `old` reads the statement's snapshot (no FOR UPDATE: rows
 * this same statement updates would be invisible to it); a view's leaves travel in one lane.
 */
export async function writeLeaves(db: AnalyticsDb, items: LeaveItem[]): Promise<void> {
  await executePrepared(
    db,
    sql`
    with i as (
      select distinct on ("id") "id", least(greatest("duration", 0), 3600) as duration,
             -- greatest/least skip NULLs: without the guard a missing scroll depth became 0.
             case when "scrollDepth" is null then null else least(greatest("scrollDepth", 0), 100) end as scroll
      from json_to_recordset(${json(withOrder(items))}) as x("id" uuid, "duration" float8, "scrollDepth" float8, "ord" int)
      order by "id", "ord" desc
    ), old as (
      select p.id, p.session_id, coalesce(p.leave_seconds, 0) as prev
      from analytics_pageviews p join i on i.id = p.id
    ), upd as (
      update analytics_pageviews p
      set duration = i.duration, scroll_depth = coalesce(i.scroll, p.scroll_depth), left_at = now(),
          leave_seconds = round(i.duration::numeric)::int
      from i where p.id = i.id
      returning p.id
    ), d as (
      select old.session_id, sum(round(i.duration::numeric)::int - old.prev)::int as delta
      from old join i on i.id = old.id join upd on upd.id = old.id
      group by 1
    )
    update analytics_sessions s
    set duration = greatest(0, s.duration + d.delta), last_activity_at = now()
    from d where s.id = d.session_id`,
  )
}

/** Heartbeats: `duration + 30` per beat (two beats in one batch add 60), `last_activity_at = now()`. */
export async function writeHeartbeats(db: AnalyticsDb, ids: string[]): Promise<void> {
  await executePrepared(
    db,
    sql`
    update analytics_sessions s
    set duration = s.duration + 30 * c.n, last_activity_at = now()
    from (
      select "id", count(*)::int as n from json_to_recordset(${json(ids.map((id) => ({ id })))}) as x("id" uuid)
      group by 1
    ) c
    where s.id = c.id`,
  )
}

/** Identify: binds sessions to users; within a batch the last request per session wins. */
export async function writeIdentifies(db: AnalyticsDb, items: IdentifyItem[]): Promise<void> {
  await executePrepared(
    db,
    sql`
    update analytics_sessions s
    set user_id = c."userId"
    from (
      select distinct on ("id") "id", "userId"
      from json_to_recordset(${json(withOrder(items))}) as x("id" uuid, "userId" uuid, "ord" int)
      order by "id", "ord" desc
    ) c
    where s.id = c."id"`,
  )
}
