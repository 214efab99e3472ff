import { PassThrough, type Readable } from 'node:stream'
import { rowsOf } from '@bio/service-kit'
import { type SQL, sql } from 'drizzle-orm'
import type { FastifyBaseLogger } from 'fastify'
import type { AnalyticsDb } from '../ingest/writers.js'
import type { AnalyticsTx as Tx } from './erase.js'

/** Rows fetched from the cursor per round trip: what the export holds in memory at most. */
export const EXPORT_BATCH_ROWS = 500
/**
 * A client that stops reading for this long ends the export: the stream is destroyed and the
 * transaction rolled back, so a stalled download cannot keep a pooled connection; the database
 * ends the transaction itself after the same idle time.
 */
const STALL_MS = 60_000
const IDLE_TIMEOUT = `${STALL_MS / 1000}s`

const sessionsOf = (userId: string) => sql`
  select row_to_json(x)::text as j from (
    select s.id, s.visitor_id as "visitorHash", s.bio_page_id as "bioPageId", s.started_at as "startedAt",
           s.last_activity_at as "lastActivityAt", s.device, s.browser, s.os, s.os_version as "osVersion",
           s.timezone, s.country, s.city, s.referrer, s.referrer_domain as "referrerDomain",
           s.landing_page as "landingPage", s.utm_source as "utmSource", s.utm_medium as "utmMedium",
           s.utm_campaign as "utmCampaign", s.utm_term as "utmTerm", s.utm_content as "utmContent",
           s.page_views as "pageViews", s.bounced, s.duration
    from analytics_sessions s where s.user_id = ${userId} order by s.id) x`

// By session_id: the pageview key on either layout (one table or partitions by month).
const pageViewsOf = (userId: string) => sql`
  select row_to_json(x)::text as j from (
    select p.id, p.session_id as "sessionId", p.bio_page_id as "bioPageId", p.path, p.title, p.referrer,
           p.link_clicked as "linkClicked", p.entered_at as "enteredAt", p.duration,
           p.scroll_depth as "scrollDepth", p.left_at as "leftAt"
    from analytics_pageviews p
    where p.session_id in (select id from analytics_sessions where user_id = ${userId})
    order by p.session_id, p.entered_at, p.id) x`

/** The client went away: the export's transaction is rolled back, nothing to report. */
class ExportAborted extends Error {}

/**
 * The right-of-access export of `userId`, streamed: `{ success: true, data: { userId,
 * exportedAt, sessions: [...], pageviews: [...] } }`, read through two cursors of one
 * REPEATABLE READ, READ ONLY transaction (one consistent snapshot; DECLARE/FETCH work on
 * PostgreSQL and PGlite alike), `batchRows` rows a round trip, each batch written to the stream
 * as it is read and the next one fetched only when the client has taken it (backpressure). So
 * memory holds one batch, whatever the history's size.
 *
 * Resolves once the first batch is read: a failure before that rejects (the route answers the
 * envelope). A failure after the first byte cannot become an envelope: it is logged and the
 * stream destroyed, so the client sees a truncated body, never a complete-looking one.
 */
export async function openUserExport(
  db: AnalyticsDb,
  userId: string,
  now: number,
  log: FastifyBaseLogger,
  batchRows = EXPORT_BATCH_ROWS,
): Promise<Readable> {
  const out = new PassThrough()
  const write = async (chunk: string): Promise<void> => {
    if (out.destroyed) throw new ExportAborted()
    if (out.write(chunk)) return
    await new Promise<void>((resolve) => {
      const stalled = setTimeout(() => out.destroy(new ExportAborted('the client stopped reading')), STALL_MS)
      const done = () => {
        clearTimeout(stalled)
        out.off('drain', done).off('close', done)
        resolve()
      }
      out.once('drain', done).once('close', done)
    })
  }
  const fetch = async (tx: Tx, cursor: string) =>
    rowsOf<{ j: string }>(await tx.execute(sql.raw(`fetch forward ${batchRows} from ${cursor}`))).map(
      (r) => r.j,
    )
  const copy = async (tx: Tx, cursor: string, query: SQL, first?: string[]) => {
    if (!first) await tx.execute(sql`declare ${sql.raw(cursor)} no scroll cursor for ${query}`)
    let rows = first ?? (await fetch(tx, cursor))
    for (let n = 0; rows.length > 0; n++) {
      await write((n === 0 ? '' : ',') + rows.join(','))
      if (rows.length < batchRows) break
      rows = await fetch(tx, cursor)
    }
    await tx.execute(sql.raw(`close ${cursor}`))
  }

  let started: (() => void) | undefined
  let failedEarly: ((err: unknown) => void) | undefined
  const ready = new Promise<void>((resolve, reject) => {
    started = resolve
    failedEarly = reject
  })
  db.transaction(async (tx) => {
    await tx.execute(sql`set transaction isolation level repeatable read, read only`)
    await tx.execute(sql.raw(`set local idle_in_transaction_session_timeout = '${IDLE_TIMEOUT}'`))
    await tx.execute(sql`declare export_sessions no scroll cursor for ${sessionsOf(userId)}`)
    const first = await fetch(tx, 'export_sessions')
    started?.()
    started = undefined
    const head = { userId, exportedAt: new Date(now).toISOString() }
    await write(`{"success":true,"data":${JSON.stringify(head).slice(0, -1)},"sessions":[`)
    await copy(tx, 'export_sessions', sessionsOf(userId), first)
    await write('],"pageviews":[')
    await copy(tx, 'export_pageviews', pageViewsOf(userId))
    await write(']}}')
  }).then(
    () => out.end(),
    (err: unknown) => {
      if (started) return failedEarly?.(err)
      if (err instanceof ExportAborted) log.info('export: the client went away; transaction rolled back')
      else log.error({ err }, 'export failed after its first byte: aborting the response (truncated body)')
      out.destroy(err instanceof Error ? err : new Error(String(err)))
    },
  )
  await ready
  return out
}
