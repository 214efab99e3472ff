import { get } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { PassThrough } from 'node:stream'
import { rowsOf } from '@bio/service-kit'
import { captureLogs, lockTable } from '@bio/service-kit/testing'
import { sql } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { buildAnalyticsApp } from '../src/app.js'
import { createErasureService } from '../src/erasure/erasure-service.js'
import { EXPORT_BATCH_ROWS } from '../src/erasure/export-stream.js'
import { seedVisits } from './erasure-helper.js'
import { bearer, silentLogger, testConfig, useAnalyticsHarness, VISITOR_SECRET, waitFor } from './helper.js'

const h = useAnalyticsHarness()

const BIG = '6f708192-0000-4000-8000-00000000a001'
const SMALL = '6f708192-0000-4000-8000-00000000a002'

/** 20 sessions of `userId` with 500 pageviews each, written in SQL (the export reads them; ingest rules are tested elsewhere). */
async function seedTenThousand(userId: string): Promise<void> {
  await h.database.db.execute(sql`
    with s as (
      insert into analytics_sessions (id, visitor_id, user_id, started_at)
      select gen_random_uuid(), 'bulk-visitor', ${userId}::uuid, now() - make_interval(days => g)
      from generate_series(1, 20) g returning id, started_at
    )
    insert into analytics_pageviews (id, session_id, path, title, entered_at, duration)
    select gen_random_uuid(), s.id, '/bulk/' || g, 'A page title of a typical length', s.started_at + make_interval(secs => g), 12.5
    from s cross join generate_series(1, 500) g`)
}

describe('the export stream', () => {
  it('holds one batch, not the history: 10k pageviews while the client does not read', async () => {
    await seedTenThousand(BIG)
    const erasure = createErasureService({
      db: h.database.db,
      visitorHashSecret: VISITOR_SECRET,
      now: Date.now,
    })
    const stream = await erasure.openExport(BIG, silentLogger)
    // The producer parks when the reader does not take what it wrote (backpressure): a state, not a delay.
    // (A PassThrough: its writable side is the producer's.)
    await waitFor(() => (stream as PassThrough).writableNeedDrain)
    const held = stream.readableLength
    let total = 0
    const chunks: Buffer[] = []
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      total += chunk.length
      chunks.push(chunk)
    }
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
      data: { sessions: unknown[]; pageviews: unknown[] }
    }
    expect(body.data.sessions).toHaveLength(20)
    expect(body.data.pageviews).toHaveLength(10_000)
    // At most one batch of rows is buffered: EXPORT_BATCH_ROWS of 10 020 rows.
    const perRow = total / 10_020
    console.log(
      `export of 10k pageviews: ${total} bytes; held while the client waits: ${held} bytes (${((100 * held) / total).toFixed(1)} %, ${(held / perRow).toFixed(0)} rows' worth; batch ${EXPORT_BATCH_ROWS} rows)`,
    )
    expect(held).toBeLessThanOrEqual(perRow * EXPORT_BATCH_ROWS * 1.5)
    expect(held).toBeLessThan(total / 10)

    // What ingest may wait for: the erasure holds its lock for its whole transaction (printed, not asserted).
    const started = performance.now()
    expect(await erasure.eraseUser(BIG)).toEqual({ sessions: 20, pageviews: 10_000 })
    console.log(
      `erasing that user (20 sessions, 10k pageviews) held the ingest lock ${(performance.now() - started).toFixed(0)} ms`,
    )
  })

  it('an error after the first byte aborts the response (truncated body) and is logged', async () => {
    await seedVisits(await h.build(), { userId: SMALL, visitorId: 'v-export-abort', views: 1 })
    const logs = captureLogs()
    const app = await buildAnalyticsApp({
      config: testConfig({ RATE_LIMIT_ENABLED: 'false' }, h.testDb.url),
      database: h.database,
      closeDatabase: false,
      logger: { level: 'info', stream: logs.stream },
    })
    await app.listen({ port: 0, host: '127.0.0.1' })
    // The pageviews cursor waits on this lock, after the head and the sessions went out.
    const lock = await lockTable(h.testDb.url, 'analytics_pageviews')
    try {
      const { port } = app.server.address() as AddressInfo
      const outcome = await new Promise<{ status?: number; body: string; ended: string }>((resolve) => {
        const req = get(
          { port, path: '/api/v1/analytics/me/export', headers: { authorization: bearer(SMALL) } },
          (res) => {
            let body = ''
            let killed = false
            res.setEncoding('utf8')
            res.on('data', (chunk: string) => {
              body += chunk
              if (killed) return
              killed = true
              void (async () => {
                let pid: number | undefined
                await waitFor(async () => {
                  pid = rowsOf<{ pid: number }>(
                    await h.database.db.execute(sql`select pid from pg_stat_activity
                    where wait_event_type = 'Lock' and query like 'declare export_pageviews%'`),
                  )[0]?.pid
                  return pid !== undefined
                })
                await h.database.db.execute(sql`select pg_terminate_backend(${pid}::int)`)
              })()
            })
            res.on('end', () => resolve({ status: res.statusCode, body, ended: 'end' }))
            res.on('error', () => resolve({ status: res.statusCode, body, ended: 'error' }))
            res.on('aborted', () => resolve({ status: res.statusCode, body, ended: 'aborted' }))
          },
        )
        req.on('error', () => resolve({ body: '', ended: 'request error' }))
      })
      expect(outcome.status).toBe(200)
      expect(outcome.ended).not.toBe('end')
      expect(outcome.body.startsWith('{"success":true,"data":{"userId":')).toBe(true)
      expect(() => JSON.parse(outcome.body)).toThrow()
      await waitFor(() => logs.lines.some((l) => l.includes('export failed after its first byte')))
    } finally {
      await lock.release()
      await app.close()
    }
  })
})
