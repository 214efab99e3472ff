import { executePrepared, sqlState } from '@bio/service-kit'
import { type SQL, sql } from 'drizzle-orm'
import { isoMicros } from '../lib/clock.js'
import { rowTimeRange } from '../lib/uuid-v7.js'
import type { PartitionRouter } from './partition-router.js'
import { type AnalyticsDb, answerOwned, json, type OwnedRow, withOrder } from './writers.js'

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

const GAP_MIN = sql.raw(`interval '0 seconds'`)
const GAP_MAX = sql.raw(`interval '3600 seconds'`)
const GAP_MAX_MS = 3_600_000
/** Seconds a client's clock may run ahead of ours (the window a client-chosen id's time is taken in). */
const SKEW_S = sql.raw('60')

/**
 * The table is partitioned by month of `entered_at`, and a row's `entered_at` follows from its id
 * (`rowTimeRange`), so every statement here names the partition key of the rows it reads:
 * lookups by id carry the id's time range, updates the row's exact `entered_at`, and the
 * back-fill reaches back only as far as a gap it would fill. Each statement also bounds the
 * table by the batch's whole time range, passed as parameters (`batchRange`): PostgreSQL prunes
 * on parameters when the executor starts, so the other months' partitions are neither read nor
 * even opened, whatever join the plan uses (bounds computed inside the statement prune only
 * after every partition's scan was set up, and per-row bounds only in nested loops). When all
 * the rows a batch touches lie in one month, the statement names that month's partition instead
 * of the parent, once the `PartitionRouter` says its statistics make that safe: then no other
 * partition is planned or locked at all.
 *
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
export async function writePageViews(
  db: AnalyticsDb,
  items: PageViewItem[],
  router?: PartitionRouter,
): Promise<(string | null)[]> {
  const { backTo, to } = pageViewsRange(items)
  // A view's time is its arrival (or a client id's time within a minute of it).
  const inserted = await onMonthPartition(router, backTo, to, to, (table) =>
    executePrepared<OwnedRow>(db, pageViewsStatement(items, table)),
  )
  return answerOwned(
    items,
    (v) => v.sessionId,
    inserted,
    (ids) => executePrepared<OwnedRow>(db, pageViewOwnersStatement(ids, items)),
  )
}

/**
 * `run(table)` on the month partition `router` names for the rows in `[from, to)` of a batch
 * that arrived at `at` (ISO times), else on the parent (`run()`); also on the parent when the
 * partition turns out not to exist (42P01: dropped, or its rows are in the default partition),
 * which the router then stops naming.
 */
async function onMonthPartition<T>(
  router: PartitionRouter | undefined,
  from: string,
  to: string,
  at: string,
  run: (table?: string) => Promise<T>,
): Promise<T> {
  const partition = router?.tableFor(Date.parse(from), Date.parse(to), Date.parse(at))
  if (partition) {
    try {
      return await run(partition)
    } catch (err) {
      if (sqlState(err) !== '42P01') throw err
      router!.missing(partition)
    }
  }
  return run()
}

/** The range a pageview batch reads and writes: the back-fill reaches back by the largest gap. */
function pageViewsRange(items: PageViewItem[]): { backTo: string; to: string } {
  const { from, to } = batchRange(items.map((v) => v.enteredAt))
  return { backTo: isoMicros(Date.parse(from) - GAP_MAX_MS), to }
}

/** writePageViews' statement on `table` (exported for the partition-pruning test's EXPLAIN). */
export function pageViewsStatement(items: PageViewItem[], table = 'analytics_pageviews'): SQL {
  // Earliest row the back-fill may update: the largest gap before the batch's first view.
  const { backTo, to } = pageViewsRange(items)
  const views = sql.raw(`"${table}"`)
  return sql`
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
        insert into ${views} (id, session_id, bio_page_id, path, title, referrer, link_clicked, entered_at, duration)
        select "id", "sessionId", bio_page_id, "path", "title", "referrer", "linkClicked", "enteredAt",
               case when next_at - "enteredAt" between ${GAP_MIN} and ${GAP_MAX}
                    then extract(epoch from next_at - "enteredAt") end
        from i
        -- The only unique key is the primary key (id, entered_at). No conflict target: the same
        -- statement runs on the plain table of migration 0003 (a release running before 0004 is
        -- applied, and the benchmark's baseline). entered_at is a function of the id, so a retried
        -- id meets its first copy's key in the same partition.
        on conflict do nothing
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
        select v.id, v.entered_at, p.first_at - v.entered_at as gap
        from per_session p
        cross join lateral (
          -- A view further back than the largest gap is never back-filled: only recent partitions.
          select id, entered_at from ${views}
          where session_id = p.session_id and entered_at < p.first_at and entered_at >= p.first_at - ${GAP_MAX}
            and entered_at >= ${backTo}::timestamptz and entered_at < ${to}::timestamptz
          order by entered_at desc, id desc
          limit 1
        ) v
      ), backfilled as (
        update ${views} v
        set duration = extract(epoch from prev.gap)
        from prev
        where v.id = prev.id and v.entered_at = prev.entered_at
          and v.entered_at >= ${backTo}::timestamptz and v.entered_at < ${to}::timestamptz
          and prev.gap between ${GAP_MIN} and ${GAP_MAX}
      )
      select id::text as id, session_id::text as owner from ins`
}

/** The sessions of existing pageviews with one of `ids`, looked up by (id, entered_at) as `items` give them. */
export function pageViewOwnersStatement(ids: string[], items: PageViewItem[]): SQL {
  const enteredAt = new Map(items.map((v) => [v.id, v.enteredAt]))
  const keys = ids.map((id) => ({ id, enteredAt: enteredAt.get(id) }))
  const { from, to } = batchRange(keys.map((k) => k.enteredAt ?? items[0]!.enteredAt))
  return sql`with k as (select * from json_to_recordset(${json(keys)}) as k("id" uuid, "enteredAt" timestamptz))
    select p.id::text as id, p.session_id::text as owner
    from k join analytics_pageviews p on p.id = k."id" and p.entered_at = k."enteredAt"
    where p.entered_at >= ${from}::timestamptz and p.entered_at < ${to}::timestamptz`
}

/**
 * The smallest range `[from, to)` holding every time of `times` (ISO strings with microseconds,
 * which compare as text in time order): a statement's partition bounds.
 */
function batchRange(times: string[]): { from: string; to: string } {
  const [from, last] = earliestAndLatest(times)
  return { from, to: isoMicros(Date.parse(last) + 1) }
}

/** The earliest and latest of ISO times in one format (they sort as text in time order). */
function earliestAndLatest(times: string[]): [string, string] {
  const sorted = [...times].sort()
  return [sorted[0]!, sorted[sorted.length - 1]!]
}

/** A leave with the `entered_at` range its pageview's row lies in. */
const withTimeRange = <T extends LeaveItem>(item: T) => ({
  ...item,
  ...rowTimeRange(item.id, Date.parse(item.at)),
})

/**
 * Page-leave pings: duration clamped to [0, 3600] and to the time since the view was entered
 * (plus the clock skew a client id may carry), scroll depth to [0, 100] (NULL stays NULL). The
 * session's duration grows by round(duration) minus the seconds an earlier leave of the same view
 * added (`leave_seconds`), so a repeated ping (a retry, or visibilitychange then pagehide)
 * replaces rather than adds. Within a batch the last ping per view wins. `old` reads the
 * statement's snapshot (no FOR UPDATE: rows this statement updates would be invisible to it).
 */
export async function writeLeaves(
  db: AnalyticsDb,
  items: LeaveItem[],
  router?: PartitionRouter,
): Promise<void> {
  // A batch of leaves is about views of the last minutes: almost always of one month.
  const { from, to } = leavesRange(withOrder(items).map(withTimeRange))
  const at = earliestAndLatest(items.map((l) => l.at))[1]
  await onMonthPartition(router, from, to, at, (table) => executePrepared(db, leavesStatement(items, table)))
}

const leavesRange = (ranged: { from: string; to: string }[]) => ({
  from: earliestAndLatest(ranged.map((r) => r.from))[0],
  to: earliestAndLatest(ranged.map((r) => r.to))[1],
})

/** writeLeaves' statement on `table` (exported for the partition-pruning test's EXPLAIN). */
export function leavesStatement(items: LeaveItem[], table = 'analytics_pageviews'): SQL {
  const ranged = withOrder(items).map(withTimeRange)
  const { from, to } = leavesRange(ranged)
  const views = sql.raw(`"${table}"`)
  return sql`
    with i as (
      select distinct on ("id") "id", "from", "to", least(greatest("duration", 0), 3600) as duration, "at",
             -- greatest/least skip NULLs: without the guard a missing scroll depth became 0.
             case when "scrollDepth" is null then null else least(greatest("scrollDepth", 0), 100) end as scroll
      from json_to_recordset(${json(ranged)}) as x("id" uuid, "from" timestamptz,
        "to" timestamptz, "duration" float8, "scrollDepth" float8, "at" timestamptz, "ord" int)
      order by "id", "ord" desc
    ), old as (
      select p.id, p.entered_at, p.session_id, coalesce(p.leave_seconds, 0) as prev, i.scroll, i."at",
             least(i.duration, greatest(0, extract(epoch from i."at" - p.entered_at)::float8 + ${SKEW_S})) as duration
      from ${views} p join i on i.id = p.id and p.entered_at >= i."from" and p.entered_at < i."to"
      where p.entered_at >= ${from}::timestamptz and p.entered_at < ${to}::timestamptz
    ), upd as (
      update ${views} p
      set duration = old.duration, scroll_depth = coalesce(old.scroll, p.scroll_depth), left_at = old."at",
          leave_seconds = round(old.duration::numeric)::int
      from old where p.id = old.id and p.entered_at = old.entered_at
        and p.entered_at >= ${from}::timestamptz and p.entered_at < ${to}::timestamptz
      returning p.id
    ), d as (
      select old.session_id, sum(round(old.duration::numeric)::int - old.prev)::int as delta, max(old."at") as at
      from old join upd on upd.id = old.id
      group by 1
    )
    update analytics_sessions s
    set duration = greatest(0, s.duration + d.delta), last_activity_at = greatest(s.last_activity_at, d.at)
    from d where s.id = d.session_id`
}
