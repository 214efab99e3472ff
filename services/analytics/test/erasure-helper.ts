import { rowsOf } from '@bio/service-kit'
import { sql } from 'drizzle-orm'
import { expect } from 'vitest'
import {
  A,
  type AnalyticsApp,
  type AnalyticsHarness,
  bearer,
  createSession,
  identify,
  recordPageView,
} from './helper.js'

/**
 * Rows of EVERY table of the analytics database (information_schema: whatever later migrations
 * add is searched too) whose text form contains `value`, as `table: row`. Empty means stored
 * nowhere.
 */
export async function rowsHolding(h: Pick<AnalyticsHarness, 'database'>, value: string): Promise<string[]> {
  const tables = rowsOf<{ name: string }>(
    await h.database.db.execute(sql`
      select quote_ident(table_schema) || '.' || quote_ident(table_name) as name from information_schema.tables
      where table_schema not in ('pg_catalog', 'information_schema') and table_type = 'BASE TABLE'`),
  )
  expect(tables.map((t) => t.name)).toContain('public.analytics_erasures')
  const found: string[] = []
  for (const { name } of tables) {
    const rows = rowsOf<{ t: string }>(
      await h.database.db.execute(
        sql`select t::text as t from ${sql.raw(name)} t where strpos(lower(t::text), lower(${value})) > 0`,
      ),
    )
    found.push(...rows.map((r) => `${name}: ${r.t}`))
  }
  return found
}

/** `sessions` sessions of `visitorId` identified to `userId` (when given), each with `views` pageviews. */
export async function seedVisits(
  app: AnalyticsApp,
  {
    userId,
    visitorId,
    sessions = 1,
    views = 2,
  }: { userId?: string; visitorId: string; sessions?: number; views?: number },
): Promise<string[]> {
  const ids: string[] = []
  for (let s = 0; s < sessions; s++) {
    const id = await createSession(app, { visitorId })
    for (let v = 0; v < views; v++) await recordPageView(app, id, { path: `/page-${v}` })
    if (userId) expect((await identify(app, id, bearer(userId))).statusCode).toBe(200)
    ids.push(id)
  }
  return ids
}

export const eraseMe = (app: AnalyticsApp, authorization?: string) =>
  app.inject({
    method: 'DELETE',
    url: `${A}/me`,
    headers: authorization === undefined ? {} : { authorization },
  })

export const exportMe = (app: AnalyticsApp, authorization?: string) =>
  app.inject({
    method: 'GET',
    url: `${A}/me/export`,
    headers: authorization === undefined ? {} : { authorization },
  })

export const forget = (app: AnalyticsApp, body: unknown, headers: Record<string, string> = {}) =>
  app.inject({ method: 'POST', url: `${A}/visitor/forget`, payload: body as object, headers })
