import { executePrepared } from '@bio/service-kit'
import { sql } from 'drizzle-orm'
import { type AnalyticsDb, answerOwned, json, type OwnedRow, ownersOf, withOrder } from './writers.js'

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
  /** Tombstones (lib/erasure-digest.ts) of this id and this visitor: either one present skips the insert. */
  sessionTombstone: string
  visitorTombstone: string
}

export interface HeartbeatItem {
  id: string
  /** Increases per session; a beat whose seq is not above every earlier one adds nothing. */
  seq: number | null
  /** When the server received it (ISO, microseconds). */
  at: string
}

export interface IdentifyItem {
  id: string
  userId: string
}

const SESSIONS = sql.raw('analytics_sessions')
const VISITOR = sql.raw('visitor_id')
/** The most one heartbeat adds, in seconds. */
const BEAT_S = sql.raw('30')

/**
 * New sessions; a retried one (same id, same visitor) answers its id again, another visitor's id
 * null, and so does one whose id or visitor was erased (a tombstone in analytics_erasures).
 */
export async function writeSessions(db: AnalyticsDb, rows: SessionRow[]): Promise<(string | null)[]> {
  const inserted = await executePrepared<OwnedRow>(
    db,
    sql`
    with r as (
      select distinct on ("id") * from json_to_recordset(${json(withOrder(rows))}) as r("id" uuid, "visitorId" text,
        "bioPageId" uuid, "device" text, "browser" text, "os" text, "osVersion" text, "timezone" text, "country" text,
        "city" text, "referrer" text, "referrerDomain" text, "landingPage" text, "utmSource" text, "utmMedium" text,
        "utmCampaign" text, "utmTerm" text, "utmContent" text, "startedAt" timestamptz, "sessionTombstone" text,
        "visitorTombstone" text, "ord" int)
      order by "id", "ord"
    )
    insert into analytics_sessions (id, visitor_id, bio_page_id, device, browser, os, os_version, timezone,
      country, city, referrer, referrer_domain, landing_page, utm_source, utm_medium, utm_campaign, utm_term,
      utm_content, started_at, last_activity_at)
    select r."id", r."visitorId", r."bioPageId", r."device", r."browser", r."os", r."osVersion", r."timezone",
      r."country", r."city", r."referrer", r."referrerDomain", r."landingPage", r."utmSource", r."utmMedium",
      r."utmCampaign", r."utmTerm", r."utmContent", r."startedAt", r."startedAt"
    from r
    where not exists (select 1 from analytics_erasures e where e.digest in (r."sessionTombstone", r."visitorTombstone"))
    on conflict (id) do nothing
    returning id::text as id, visitor_id as owner`,
  )
  return answerOwned(
    rows,
    (r) => r.visitorId,
    inserted,
    (ids) => ownersOf(db, SESSIONS, VISITOR, ids),
  )
}

/**
 * Heartbeats. A beat counts when it has no `seq` or a `seq` above the stored one and above every
 * earlier beat of the batch (a retry or a reordered beat adds nothing). A counted beat adds the
 * wall-clock time since the session's last activity or the previous counted beat, at most 30 s;
 * the session keeps the highest `seq` and its latest activity.
 */
export async function writeHeartbeats(db: AnalyticsDb, items: HeartbeatItem[]): Promise<void> {
  await executePrepared(
    db,
    sql`
    with b as (
      select x."id", x."seq", x."at", x."ord", s.heartbeat_seq as stored, s.last_activity_at as last,
             max(x."seq") over (partition by x."id" order by x."ord" rows between unbounded preceding and 1 preceding) as before
      from json_to_recordset(${json(withOrder(items))}) as x("id" uuid, "seq" int, "at" timestamptz, "ord" int)
      join analytics_sessions s on s.id = x."id"
    ), counted as (
      select "id", "seq", "at", last, lag("at") over (partition by "id" order by "ord") as prev_at
      from b
      where "seq" is null or "seq" > greatest(coalesce(stored, -1), coalesce(before, -1))
    ), per as (
      select "id", sum(least(${BEAT_S}, greatest(0, extract(epoch from "at" - greatest(prev_at, last))))) as added,
             max("seq") as top, max("at") as last_at
      from counted group by 1
    )
    update analytics_sessions s
    set duration = s.duration + round(per.added)::int,
        heartbeat_seq = greatest(s.heartbeat_seq, per.top),
        last_activity_at = greatest(s.last_activity_at, per.last_at)
    from per where s.id = per."id"`,
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
