import { type Db, executePrepared } from '@bio/service-kit'
import { type SQL, sql } from 'drizzle-orm'
import type { AnalyticsSchema } from '../db/schema.js'

/**
 * What the set-based batch writers share. Each batch travels as one JSON parameter unpacked by
 * `json_to_recordset`, so a batch of 500 costs the same few round trips as a batch of 1, and the
 * statement text never changes, so it is prepared once per connection (`executePrepared`).
 *
 * Inserts are idempotent on the id (`on conflict do nothing` on the primary key, which for
 * pageviews is (id, entered_at) with entered_at a function of the id): the key, not a read
 * before the write, decides which copy of a retried write is the one stored, also across lanes
 * and instances, and every side effect (counters, back-fill) is computed from the rows really
 * inserted. A copy whose row already exists gets the same answer as the original when the row
 * belongs to the same owner (the visitor of a session, the session of a pageview), else null.
 */

export type AnalyticsDb = Db<AnalyticsSchema>
export const json = (rows: unknown[]) => sql`${JSON.stringify(rows)}::json`
export const withOrder = <T>(items: T[]) => items.map((item, ord) => ({ ...item, ord }))

/** A row's id and who it belongs to, as an insert's RETURNING or the lookup of existing rows reads it. */
export interface OwnedRow {
  id: string
  owner: string
}

/**
 * One answer per item: its id when a row with that id belongs to the item's owner, else null.
 * `inserted` holds the rows this batch wrote; ids that are neither inserted nor known yet are
 * looked up by `existing`, in a new statement (so a copy committed by another instance while
 * this statement waited on its key is seen). That second round trip happens only for retries
 * and unknown parents, never for a plain new write.
 */
export async function answerOwned<T extends { id: string }>(
  items: T[],
  ownerOf: (item: T) => string,
  inserted: OwnedRow[],
  existing: (ids: string[]) => Promise<OwnedRow[]>,
): Promise<(string | null)[]> {
  const owners = new Map(inserted.map((r) => [r.id, r.owner]))
  const missing = [...new Set(items.filter((item) => !owners.has(item.id)).map((item) => item.id))]
  if (missing.length > 0) for (const r of await existing(missing)) owners.set(r.id, r.owner)
  return items.map((item) => (owners.get(item.id) === ownerOf(item) ? item.id : null))
}

/** The owners of existing rows of `table` (`owner` names its owner column) with one of `ids`. */
export function ownersOf(db: AnalyticsDb, table: SQL, owner: SQL, ids: string[]): Promise<OwnedRow[]> {
  return executePrepared<OwnedRow>(
    db,
    sql`select t.id::text as id, t.${owner}::text as owner from ${table} t
        where t.id in (select value::uuid from json_array_elements_text(${json(ids)}))`,
  )
}
