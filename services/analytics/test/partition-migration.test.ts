import { type DatabaseHandle, openDatabase, rowsOf } from '@bio/service-kit'
import { createTestDatabase, type TestDatabase } from '@bio/service-kit/testing'
import { type SQL, sql } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MIGRATIONS_FOLDER, migrationsFolderUpTo } from '../src/db/migrations.js'
import { type AnalyticsSchema, schema } from '../src/db/schema.js'
import { testConfig } from './helper.js'

/**
 * Migration 0004 on a populated database: migrated to 0003 (one plain table), filled with
 * pageviews over six months, then migrated to 0004. Every row survives unchanged, each in its
 * month's partition, and the key, checks, foreign key and indexes hold on the new table. On
 * PostgreSQL and on the embedded PGlite.
 */

const opened: { database: DatabaseHandle<AnalyticsSchema>; testDb?: TestDatabase }[] = []
afterAll(async () => {
  for (const { database, testDb } of opened) {
    await database.close()
    await testDb?.drop()
  }
})

async function openAt0003(kind: 'postgres' | 'pglite'): Promise<DatabaseHandle<AnalyticsSchema>> {
  const testDb = kind === 'postgres' ? await createTestDatabase('analytics_mig') : undefined
  const config = testConfig({}, testDb?.url).db
  const database = await openDatabase({ ...config, dataDir: 'memory://' }, schema)
  opened.push({ database, testDb })
  await database.migrate(migrationsFolderUpTo('0003_heartbeat_seq'))
  return database
}

const ROWS = 6000
/** Fingerprint of every pageview, column by column (the row's text form), in id order. */
const FINGERPRINT = sql`
  select count(*)::int as n, md5(string_agg(p::text, ',' order by p.id, p.entered_at)) as digest
  from analytics_pageviews p`

describe.each(['postgres', 'pglite'] as const)('migration 0004 on a populated database (%s)', (kind) => {
  let database: DatabaseHandle<AnalyticsSchema>
  const query = async <T>(q: SQL) => rowsOf<T>(await database.db.execute(q))
  let before: { n: number; digest: string } | undefined
  let after: { n: number; digest: string } | undefined

  beforeAll(async () => {
    database = await openAt0003(kind)
    const [plain] = await query<{ relkind: string }>(
      sql`select relkind from pg_class where relname = 'analytics_pageviews'`,
    )
    expect(plain!.relkind).toBe('r')
    await database.db.execute(sql`
      insert into analytics_sessions (id, visitor_id, started_at, last_activity_at)
      select ('00000000-0000-4000-8000-' || lpad(g::text, 12, '0'))::uuid, 'visitor-' || g,
             timestamptz '2026-01-01 00:00Z', timestamptz '2026-07-01 00:00Z'
      from generate_series(1, 40) g`)
    // 43 minutes apart from 1 January: 6000 views reach into June. Plus the last microsecond of
    // February and the first of March, which belong to different partitions.
    await database.db.execute(sql`
      insert into analytics_pageviews (session_id, path, title, entered_at, duration, scroll_depth)
      select ('00000000-0000-4000-8000-' || lpad((1 + g % 40)::text, 12, '0'))::uuid, '/p/' || g,
             case when g % 3 = 0 then null else 'Title ' || g end,
             timestamptz '2026-01-01 00:00Z' + g * interval '43 minutes', g % 3600, (g % 101)::float8
      from generate_series(1, ${ROWS - 2}) g
      union all
      select '00000000-0000-4000-8000-000000000001', '/edge', null, ts, null, null
      from unnest(array[timestamptz '2026-02-28 23:59:59.999999Z', timestamptz '2026-03-01 00:00Z']) ts`)
    ;[before] = await query<{ n: number; digest: string }>(FINGERPRINT)
    await database.migrate(MIGRATIONS_FOLDER)
    ;[after] = await query<{ n: number; digest: string }>(FINGERPRINT)
  })

  it('moves every row into its month partition, unchanged', async () => {
    expect(before!.n).toBe(ROWS)
    expect(after).toEqual(before)
    const [parent] = await query<{ relkind: string }>(
      sql`select relkind from pg_class where relname = 'analytics_pageviews'`,
    )
    expect(parent!.relkind).toBe('p')
    const perPartition = await query<{ partition: string; n: number; misplaced: number }>(sql`
      select tableoid::regclass::text as partition, count(*)::int as n,
             count(*) filter (where to_char(entered_at at time zone 'UTC', '"analytics_pageviews_y"YYYY"m"MM')
                              <> tableoid::regclass::text)::int as misplaced
      from analytics_pageviews group by 1 order by 1`)
    expect(perPartition.map((p) => p.partition)).toEqual([
      'analytics_pageviews_y2026m01',
      'analytics_pageviews_y2026m02',
      'analytics_pageviews_y2026m03',
      'analytics_pageviews_y2026m04',
      'analytics_pageviews_y2026m05',
      'analytics_pageviews_y2026m06',
    ])
    expect(perPartition.every((p) => p.misplaced === 0 && p.n > 0)).toBe(true)
    expect(perPartition.reduce((sum, p) => sum + p.n, 0)).toBe(ROWS)
    const [old] = await query<{ t: string | null }>(
      sql`select to_regclass('analytics_pageviews_unpartitioned')::text as t`,
    )
    expect(old!.t).toBeNull()
  })

  it('keeps the key, the checks, the foreign key with its cascade and the indexes', async () => {
    const [one] = await query<{ id: string; entered_at: string; session_id: string }>(
      sql`select id, entered_at::text, session_id from analytics_pageviews where path = '/p/7'`,
    )
    const copy = sql`insert into analytics_pageviews (id, session_id, path, entered_at)
      values (${one!.id}, ${one!.session_id}, '/copy', ${one!.entered_at}::timestamptz)`
    await expect(database.db.execute(copy)).rejects.toMatchObject({
      cause: expect.objectContaining({ code: '23505' }),
    })
    await expect(
      database.db.execute(sql`update analytics_pageviews set duration = 3601 where path = '/p/7'`),
    ).rejects.toMatchObject({ cause: expect.objectContaining({ code: '23514' }) })
    await expect(
      database.db.execute(sql`insert into analytics_pageviews (session_id, path, entered_at)
        values ('00000000-0000-4000-8000-999999999999', '/orphan', now())`),
    ).rejects.toMatchObject({ cause: expect.objectContaining({ code: '23503' }) })

    // The cascade, in a transaction rolled back so the other test sees every row.
    const cascaded = await database.db
      .transaction(async (tx) => {
        const count = async () =>
          rowsOf<{ n: number }>(await tx.execute(sql`select count(*)::int as n from analytics_pageviews`))[0]!
            .n
        const total = await count()
        await tx.execute(
          sql`delete from analytics_sessions where id = '00000000-0000-4000-8000-000000000002'`,
        )
        const left = await count()
        throw Object.assign(new Error('rollback'), { deleted: total - left })
      })
      .catch((err: { deleted?: number }) => err.deleted)
    expect(cascaded).toBe(ROWS / 40)

    const indexes = await query<{ indexname: string }>(sql`
      select indexname from pg_indexes where tablename = 'analytics_pageviews_y2026m03' order by 1`)
    expect(indexes.map((i) => i.indexname)).toEqual([
      'analytics_pageviews_y2026m03_bio_page_id_entered_at_idx',
      'analytics_pageviews_y2026m03_pkey',
      'analytics_pageviews_y2026m03_session_id_entered_at_id_idx',
    ])
  })
})
