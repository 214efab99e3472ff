import { executePrepared } from '@bio/service-kit'
import { sql } from 'drizzle-orm'
import { type AnalyticsDb, answerOwned, json, type OwnedRow, ownersOf, withOrder } from './writers.js'

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
  /** When the server received it (ISO, microseconds): the duration cannot exceed the time since the view. */
  at: string
}

const PAGEVIEWS = sql.raw('analytics_pageviews')
const SESSION = sql.raw('session_id')
const GAP_MIN = sql.raw(`interval '0 seconds'`)
const GAP_MAX = sql.raw(`interval '3600 seconds'`)
/** Seconds a client's clock may run ahead of ours (the window a client-chosen id's time is taken in). */
const SKEW_S = sql.raw('60')

/**
 * Pageviews, in ONE statement (one round trip, its own atomic commit):
 * - `i`: the batch's views (one per id) whose session exists, with the session's verified bio
 *   page and, per session, the time of the next view of the same batch;
 * - `ins`: inserts those whose id is new; a view followed by another in the batch gets its
 *   duration now;
 * - `counted`: one atomic UPDATE per session that really got rows, `page_views + n` and `bounced`
 *   from the new count (no read-then-write);
 * - `backfilled`: the session's latest view before the batch's first inserted one (read from the
 *   statement's snapshot) gets the gap as its duration.
 * Durations are written only when the gap lies in [0, 3600] s. A session's views never travel in
 * two batches of one instance at once (lanes are keyed by session).
 */
export async function writePageViews(db: AnalyticsDb, items: PageViewItem[]): Promise<(string | null)[]> {
  const inserted = await executePrepared<OwnedRow>(
    db,
    sql`
      with x as (
        select distinct on ("id") * from json_to_recordset(${json(withOrder(items))}) as x("id" uuid, "sessionId" uuid,
          "path" text, "title" text, "referrer" text, "linkClicked" uuid, "enteredAt" timestamptz, "ord" int)
        order by "id", "ord"
      ), i as (
        select x."id", x."sessionId", x."path", x."title", x."referrer", x."linkClicked", x."enteredAt",
               s.bio_page_id,
               lead(x."enteredAt") over (partition by x."sessionId" order by x."enteredAt", x."ord") as next_at
        from x join analytics_sessions s on s.id = x."sessionId"
      ), ins as (
        insert into analytics_pageviews (id, session_id, bio_page_id, path, title, referrer, link_clicked, entered_at, duration)
        select "id", "sessionId", bio_page_id, "path", "title", "referrer", "linkClicked", "enteredAt",
               case when next_at - "enteredAt" between ${GAP_MIN} and ${GAP_MAX}
                    then extract(epoch from next_at - "enteredAt") end
        from i
        on conflict (id) do nothing
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
          where session_id = p.session_id and entered_at < p.first_at
          order by entered_at desc, id desc
          limit 1
        ) v
      ), backfilled as (
        update analytics_pageviews v
        set duration = extract(epoch from prev.gap)
        from prev
        where v.id = prev.id and prev.gap between ${GAP_MIN} and ${GAP_MAX}
      )
      select id::text as id, session_id::text as owner from ins`,
  )
  return answerOwned(
    items,
    (v) => v.sessionId,
    inserted,
    (ids) => ownersOf(db, PAGEVIEWS, SESSION, ids),
  )
}

/**
 * Page-leave pings: duration clamped to [0, 3600] and to the time since the view was entered
 * (plus the clock skew a client id may carry), scroll depth to [0, 100] (NULL stays NULL). The
 * session's duration grows by round(duration) minus the seconds an earlier leave of the same view
 * added (`leave_seconds`), so a repeated ping (a retry, or visibilitychange then pagehide)
 * replaces rather than adds. Within a batch the last ping per view wins. `old` reads the
 * statement's snapshot (no FOR UPDATE: rows this statement updates would be invisible to it).
 */
export async function writeLeaves(db: AnalyticsDb, items: LeaveItem[]): Promise<void> {
  await executePrepared(
    db,
    sql`
    with i as (
      select distinct on ("id") "id", least(greatest("duration", 0), 3600) as duration, "at",
             -- greatest/least skip NULLs: without the guard a missing scroll depth became 0.
             case when "scrollDepth" is null then null else least(greatest("scrollDepth", 0), 100) end as scroll
      from json_to_recordset(${json(withOrder(items))}) as x("id" uuid, "duration" float8, "scrollDepth" float8,
        "at" timestamptz, "ord" int)
      order by "id", "ord" desc
    ), old as (
      select p.id, p.session_id, coalesce(p.leave_seconds, 0) as prev, i.scroll, i."at",
             least(i.duration, greatest(0, extract(epoch from i."at" - p.entered_at)::float8 + ${SKEW_S})) as duration
      from analytics_pageviews p join i on i.id = p.id
    ), upd as (
      update analytics_pageviews p
      set duration = old.duration, scroll_depth = coalesce(old.scroll, p.scroll_depth), left_at = old."at",
          leave_seconds = round(old.duration::numeric)::int
      from old where p.id = old.id
      returning p.id
    ), d as (
      select old.session_id, sum(round(old.duration::numeric)::int - old.prev)::int as delta, max(old."at") as at
      from old join upd on upd.id = old.id
      group by 1
    )
    update analytics_sessions s
    set duration = greatest(0, s.duration + d.delta), last_activity_at = greatest(s.last_activity_at, d.at)
    from d where s.id = d.session_id`,
  )
}
