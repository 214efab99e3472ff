import { rowsOf } from '@bio/service-kit'
import { sql } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { useAnalyticsHarness } from './helper.js'

/**
 * The storage choices the ingest path's speed rests on (migrations 0001 and 0002), as migrated:
 * if a later migration or a schema regeneration drops them, the write path silently slows down.
 */

const h = useAnalyticsHarness({ app: false })

const query = async <T>(q: ReturnType<typeof sql>) => rowsOf<T>(await h.database.db.execute(q))

describe('ingest storage', () => {
  it('leaves room on heap pages for HOT updates of sessions and pageviews', async () => {
    // A partitioned table has no storage of its own: every pageview partition carries it.
    const rows = await query<{ relname: string; reloptions: string | null }>(sql`
      select relname, array_to_string(reloptions, ',') as reloptions from pg_class
      where relname = 'analytics_sessions'
         or oid in (select inhrelid from pg_inherits where inhparent = 'analytics_pageviews'::regclass)
      order by relname`)
    expect(rows.length).toBeGreaterThanOrEqual(3)
    for (const row of rows) {
      const fillfactor = row.relname === 'analytics_sessions' ? 70 : 85
      expect(row, row.relname).toEqual({ relname: row.relname, reloptions: `fillfactor=${fillfactor}` })
    }
  })

  it("indexes a session's views by (session_id, entered_at, id) for the back-fill's latest-view probe", async () => {
    const rows = await query<{ indexdef: string }>(sql`
      select indexdef from pg_indexes
      where tablename = 'analytics_pageviews' and indexdef like '%(session_id%'`)
    expect(rows.map((r) => r.indexdef)).toEqual([
      expect.stringMatching(/USING btree \(session_id, entered_at, id\)$/),
    ])
  })

  it('no updated column of the hot path is indexed, so those updates can stay heap-only', async () => {
    // Columns the pageview, leave and heartbeat statements update; identify's user_id is indexed
    // on purpose (sessions are looked up by user).
    const updated = {
      analytics_sessions: ['page_views', 'bounced', 'duration', 'last_activity_at'],
      analytics_pageviews: ['duration', 'scroll_depth', 'left_at', 'leave_seconds'],
    }
    const rows = await query<{ table: string; column: string }>(sql`
      select t.relname as table, a.attname as column
      from pg_index i
      join pg_class t on t.oid = i.indrelid
      join pg_attribute a on a.attrelid = t.oid and a.attnum = any(i.indkey)
      where t.relname in ('analytics_sessions', 'analytics_pageviews')`)
    for (const { table, column } of rows) {
      expect(updated[table as keyof typeof updated], `${table}.${column} is indexed`).not.toContain(column)
    }
    expect(rows.length).toBeGreaterThan(0)
  })
})
