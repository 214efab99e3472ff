#!/usr/bin/env node
// EXPLAIN (ANALYZE, BUFFERS) of the pageview batch statement on a populated table, run once by
// hand (the numbers go into the closing note of a change to the write path):
//   node scripts/bench/explain-batch.mjs [--writers <built module exporting writePageViews>] [--batch 100] [--ids v4|v7]
// The statement is captured from the writer itself (a stand-in client records the text and
// parameters instead of running them), then explained inside a transaction that is rolled back,
// on a fresh database of 20,000 sessions and 200,000 pageviews. Prints the median of 15 runs and
// the plan of the last one.
import { randomBytes, randomUUID } from 'node:crypto'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { openDatabase } from '@bio/service-kit'
import postgres from 'postgres'
import { MIGRATIONS_FOLDER } from '../../services/analytics/dist/db/migrations.js'
import { schema } from '../../services/analytics/dist/db/schema.js'
import { uuidV7 } from '../../services/analytics/dist/lib/uuid-v7.js'

const arg = (name, fallback) => {
  const i = process.argv.indexOf(name)
  return i > 0 ? process.argv[i + 1] : fallback
}
const root = fileURLToPath(new URL('../..', import.meta.url))
const writersPath = arg('--writers', `${root}services/analytics/dist/ingest/pageview-writers.js`)
const BATCH = Number(arg('--batch', 100))
const RUNS = 15
const V4 = arg('--ids', 'v7') === 'v4'
const newId = V4 ? () => randomUUID() : () => uuidV7(Date.now())
const { writePageViews } = await import(pathToFileURL(writersPath).href)

const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
const name = `explain_${randomBytes(4).toString('hex')}`
const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} })
await admin.unsafe(`create database "${name}"`)
const url = Object.assign(new URL(ADMIN_URL), { pathname: `/${name}` }).toString()
const sql = postgres(url, { max: 1, onnotice: () => {} })
// As drizzle's postgres.js driver does: the writers send JSON already serialised.
for (const oid of [114, 3802]) sql.options.serializers[oid] = (x) => x
try {
  const handle = await openDatabase(
    { url, poolMax: 1, connectTimeoutS: 5, statementTimeoutMs: 0, dataDir: '' },
    schema,
  )
  await handle.migrate(MIGRATIONS_FOLDER)
  await handle.close()
  // The existing rows get ids of the same kind as the batch: UUIDv7 made from their time, or v4.
  await sql`
    create function v7(t timestamptz) returns uuid language sql as $$
      select (lpad(to_hex((extract(epoch from t) * 1000)::bigint), 12, '0') || '7' ||
              substr(md5(random()::text), 1, 3) || '8' || substr(md5(random()::text), 1, 15))::uuid $$`
  await sql`
    insert into analytics_sessions (id, visitor_id, started_at, last_activity_at, page_views, bounced)
    select case when ${V4} then gen_random_uuid() else v7(now() - interval '1 day' + i * interval '1 second') end,
           md5(i::text), now() - interval '1 day' + i * interval '1 second',
           now() - interval '1 day' + i * interval '1 second', 10, false
    from generate_series(1, 20000) i`
  await sql`
    insert into analytics_pageviews (id, session_id, path, entered_at)
    select case when ${V4} then gen_random_uuid() else v7(s.started_at + k * interval '10 seconds') end,
           s.id, '/p/' || k, s.started_at + k * interval '10 seconds'
    from analytics_sessions s cross join generate_series(1, 10) k`
  await sql`vacuum analyze`
  const sessions = (await sql`select id::text from analytics_sessions order by random() limit ${BATCH}`).map(
    (r) => r.id,
  )

  /** The first statement the writer sends for a batch of new views, as text and parameters. */
  async function capture() {
    const seen = []
    const client = Object.assign(() => {}, {
      unsafe: (text, params) => {
        seen.push({ text, params })
        return Promise.resolve([])
      },
    })
    const now = Date.now()
    const items = sessions.map((sessionId, i) => ({
      id: newId(),
      sessionId,
      path: '/explained',
      title: 'A page title',
      referrer: null,
      linkClicked: null,
      enteredAt: new Date(now + i).toISOString(),
    }))
    await writePageViews({ $client: client }, items)
    return seen[0]
  }

  const times = []
  let plan = ''
  for (let run = 0; run < RUNS; run++) {
    const { text, params } = await capture()
    await sql
      .begin(async (tx) => {
        const rows = await tx.unsafe(`explain (analyze, buffers) ${text}`, params, { prepare: true })
        plan = rows.map((r) => r['QUERY PLAN']).join('\n')
        await tx`select 1`
        throw Object.assign(new Error('rollback'), { rollback: true })
      })
      .catch((err) => {
        if (!err.rollback) throw err
      })
    times.push(Number(/Execution Time: ([\d.]+) ms/.exec(plan)?.[1]))
  }
  times.sort((a, b) => a - b)
  process.stdout.write(
    `${writersPath}\nbatch of ${BATCH} new views (${V4 ? 'v4' : 'v7'} ids); execution time over ${RUNS} runs: median ${times[RUNS >> 1]} ms (min ${times[0]}, max ${times[RUNS - 1]})\n\n${plan}\n`,
  )
} finally {
  await sql.end()
  await admin.unsafe(`drop database if exists "${name}" with (force)`)
  await admin.end()
}
