import { type Db, rowsOf } from '@bio/shared'
import { sql } from 'drizzle-orm'
import type { AnalyticsSchema } from '../db/schema.js'

/**
 * Set-based writes for whole batches. Each batch travels as one JSON parameter unpacked by
 * `json_to_recordset`, so a batch of 500 costs the same few round trips as a batch of 1.
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

export async function writeSessions(db: AnalyticsDb, rows: SessionRow[]): Promise<(string | null)[]> {
  await db.execute(sql`
    insert into analytics_sessions (id, visitor_id, bio_page_id, device, browser, os, os_version, timezone,
      country, city, referrer, referrer_domain, landing_page, utm_source, utm_medium, utm_campaign, utm_term,
      utm_content, started_at, last_activity_at)
    select r."id", r."visitorId", r."bioPageId", r."device", r."browser", r."os", r."osVersion", r."timezone",
      r."country", r."city", r."referrer", r."referrerDomain", r."landingPage", r."utmSource", r."utmMedium",
      r."utmCampaign", r."utmTerm", r."utmContent", r."startedAt", r."startedAt"
    from json_to_recordset(${json(rows)}) as r("id" uuid, "visitorId" text, "bioPageId" uuid, "device" text,
      "browser" text, "os" text, "osVersion" text, "timezone" text, "country" text, "city" text, "referrer" text,
      "referrerDomain" text, "landingPage" text, "utmSource" text, "utmMedium" text, "utmCampaign" text,
      "utmTerm" text, "utmContent" text, "startedAt" timestamptz)`)
  return rows.map((r) => r.id)
}

/**
 * Pageviews, in one transaction: (1) insert the rows whose session exists, taking the session's
 * verified bio page; (2) one atomic UPDATE per touched session: `page_views + n` and `bounced`
 * from the new count (no read-then-write), locking sessions in id order; (3) back-fill the
 * duration of each new view's predecessor, in arrival order, only when the gap is within
 * [0, 3600] s. Step 2's row locks serialise concurrent batches on one session, so step 3 sees
 * every earlier view.
 */
export async function writePageViews(db: AnalyticsDb, items: PageViewItem[]): Promise<(string | null)[]> {
  return db.transaction(async (tx) => {
    const inserted = rowsOf<{ id: string }>(
      await tx.execute(sql`
        insert into analytics_pageviews (id, session_id, bio_page_id, path, title, referrer, link_clicked, entered_at)
        select i."id", i."sessionId", s.bio_page_id, i."path", i."title", i."referrer", i."linkClicked", i."enteredAt"
        from json_to_recordset(${json(items)}) as i("id" uuid, "sessionId" uuid, "path" text, "title" text,
          "referrer" text, "linkClicked" uuid, "enteredAt" timestamptz)
        join analytics_sessions s on s.id = i."sessionId"
        returning id`),
    )
    if (inserted.length === 0) return items.map(() => null)
    const ok = new Set(inserted.map((r) => r.id))
    const written = items
      .filter((i) => ok.has(i.id))
      .map(({ id, sessionId, enteredAt }) => ({ id, sessionId, enteredAt }))
    await tx.execute(sql`
      with c as (
        select i."sessionId" as session_id, count(*)::int as n, max(i."enteredAt") as last_at
        from json_to_recordset(${json(written)}) as i("sessionId" uuid, "enteredAt" timestamptz)
        group by 1
      ), locked as (
        select s.id from analytics_sessions s join c on c.session_id = s.id order by s.id for update
      )
      update analytics_sessions s
      set page_views = s.page_views + c.n,
          bounced = s.page_views + c.n < 2,
          last_activity_at = greatest(s.last_activity_at, c.last_at)
      from c
      where s.id = c.session_id and s.id in (select id from locked)`)
    await tx.execute(sql`
      with new as (
        select i."id", i."sessionId" from json_to_recordset(${json(written)}) as i("id" uuid, "sessionId" uuid)
      ), ordered as (
        select p.id, p.entered_at,
               lead(p.id) over w as next_id,
               lead(p.entered_at) over w as next_at
        from analytics_pageviews p
        where p.session_id in (select "sessionId" from new)
        window w as (partition by p.session_id order by p.entered_at, p.id)
      )
      update analytics_pageviews p
      set duration = extract(epoch from o.next_at - o.entered_at)
      from ordered o
      where p.id = o.id
        and o.next_id in (select "id" from new)
        and o.next_at - o.entered_at between interval '0 seconds' and interval '3600 seconds'`)
    return items.map((i) => (ok.has(i.id) ? i.id : null))
  })
}

/**
 * Page-leave pings: duration clamped to [0, 3600], scroll depth to [0, 100]; the session's
 * duration grows by round(duration) minus what an earlier leave of the same view had added
 * (round of its duration), so a repeated ping (pagehide after visibilitychange) replaces rather
 * than double-counts. Within a
 * batch the last ping per view wins. `old` reads the statement's snapshot (no FOR UPDATE: rows
 * this same statement updates would be invisible to it); one process writes leaves in series.
 */
export async function writeLeaves(db: AnalyticsDb, items: LeaveItem[]): Promise<void> {
  await db.execute(sql`
    with i as (
      select distinct on ("id") "id", least(greatest("duration", 0), 3600) as duration,
             -- greatest/least skip NULLs: without the guard a missing scroll depth became 0.
             case when "scrollDepth" is null then null else least(greatest("scrollDepth", 0), 100) end as scroll
      from json_to_recordset(${json(withOrder(items))}) as x("id" uuid, "duration" float8, "scrollDepth" float8, "ord" int)
      order by "id", "ord" desc
    ), old as (
      select p.id, p.session_id, case when p.left_at is null then 0 else coalesce(p.duration, 0) end as prev
      from analytics_pageviews p join i on i.id = p.id
    ), upd as (
      update analytics_pageviews p
      set duration = i.duration, scroll_depth = coalesce(i.scroll, p.scroll_depth), left_at = now()
      from i where p.id = i.id
      returning p.id
    ), d as (
      select old.session_id, sum(round(i.duration::numeric) - round(old.prev::numeric))::int as delta
      from old join i on i.id = old.id join upd on upd.id = old.id
      group by 1
    )
    update analytics_sessions s
    set duration = greatest(0, s.duration + d.delta), last_activity_at = now()
    from d where s.id = d.session_id`)
}

/** Heartbeats: `duration + 30` per beat (two beats in one batch add 60), `last_activity_at = now()`. */
export async function writeHeartbeats(db: AnalyticsDb, ids: string[]): Promise<void> {
  await db.execute(sql`
    update analytics_sessions s
    set duration = s.duration + 30 * c.n, last_activity_at = now()
    from (
      select "id", count(*)::int as n from json_to_recordset(${json(ids.map((id) => ({ id })))}) as x("id" uuid)
      group by 1
    ) c
    where s.id = c.id`)
}

/** Identify: binds sessions to users; within a batch the last request per session wins. */
export async function writeIdentifies(db: AnalyticsDb, items: IdentifyItem[]): Promise<void> {
  await db.execute(sql`
    update analytics_sessions s
    set user_id = c."userId"
    from (
      select distinct on ("id") "id", "userId"
      from json_to_recordset(${json(withOrder(items))}) as x("id" uuid, "userId" uuid, "ord" int)
      order by "id", "ord" desc
    ) c
    where s.id = c."id"`)
}
