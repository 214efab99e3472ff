// `npm run bench -- --phase partitions`: pageview and leave throughput on the partitioned
// pageviews (migration 0004) against the same data in the layout before it (one plain table, as
// of migration 0003), both measured in this run. Each database gets BENCH_PARTITION_ROWS
// pageviews (default 10M; `--smoke` 200k) over the 12 months before now, made in SQL, and a
// service of its own; the two are loaded in alternating rounds with the identical request
// generator. Writes scripts/bench/partitions-results.{json,md} (not with --smoke).
import { randomBytes } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { openDatabase } from '@bio/service-kit'
import postgres from 'postgres'
import { MIGRATIONS_FOLDER, migrationsFolderUpTo } from '../../services/analytics/dist/db/migrations.js'
import { load } from './load.mjs'
import { startProcess, stopProcess } from './processes.mjs'

const root = fileURLToPath(new URL('../..', import.meta.url))
const SMOKE = process.argv.includes('--smoke')
const ROWS = Number(process.env.BENCH_PARTITION_ROWS ?? (SMOKE ? 200_000 : 10_000_000))
const DURATION = SMOKE ? 1 : Number(process.env.BENCH_DURATION ?? 5)
const ROUNDS = SMOKE ? 1 : 5
const CONNECTIONS = 50
const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
const log = (msg) => process.stderr.write(`› ${msg}\n`)
const secret = () => randomBytes(48).toString('base64url')
const dbUrl = (name) => Object.assign(new URL(ADMIN_URL), { pathname: `/${name}` }).toString()
const pick = (list) => list[Math.floor(Math.random() * list.length)]

const suffix = randomBytes(4).toString('hex')
const layouts = {
  plain: {
    db: `bench_pv_plain_${suffix}`,
    port: 4122,
    migrations: migrationsFolderUpTo('0003_heartbeat_seq'),
  },
  partitioned: { db: `bench_pv_part_${suffix}`, port: 4123, migrations: MIGRATIONS_FOLDER },
}
const env = {
  NODE_ENV: 'production',
  LOG_LEVEL: 'warn',
  RATE_LIMIT_ENABLED: 'false',
  MIGRATE_ON_START: 'false',
  ANALYTICS_MAINTENANCE_INTERVAL_MS: '0',
  JWT_SECRET: secret(),
  TRACKING_HMAC_SECRET: secret(),
  VISITOR_HASH_SECRET: secret(),
}

/** A UUIDv7 for the timestamptz expression `ts`, in SQL (random bits from md5 of `seed`). */
const uuidV7Sql = (ts, rawSeed, seed = `(${rawSeed})`) => `(
  lpad(to_hex((extract(epoch from ${ts}) * 1000)::bigint), 12, '0') || '7' || substr(md5(${seed}::text), 1, 3)
  || substr('89ab', 1 + (${seed} % 4)::int, 1) || substr(md5(${seed}::text), 4, 15))::uuid`

/** Sessions (one per ten views) and ROWS views over the 12 months before now, in time order. */
async function fill(sql) {
  const sessions = Math.max(1, Math.floor(ROWS / 10))
  const step = `(interval '365 days' / ${ROWS})`
  const start = `date_trunc('millisecond', now() - interval '365 days')`
  await sql.unsafe(`set session_replication_role = replica`) // no FK trigger per row while filling
  await sql.unsafe(`insert into analytics_sessions (id, visitor_id, started_at, last_activity_at, page_views)
    select ${uuidV7Sql('t', 'g')}, md5(g::text), t, t + interval '10 minutes', 10
    from (select g, ${start} + (g * 10) * ${step} as t from generate_series(0, ${sessions - 1}) g) s`)
  await sql.unsafe(`insert into analytics_pageviews (id, session_id, path, title, entered_at)
    select ${uuidV7Sql('t', 'g + 1000000000')}, ${uuidV7Sql(`${start} + ((g / 10) * 10) * ${step}`, '(g / 10)')},
           '/creator/page-' || (g % 50), 'A page title', t
    from (select g, date_trunc('millisecond', ${start} + g * ${step}) as t from generate_series(0, ${ROWS - 1}) g) v`)
  await sql.unsafe(`analyze`)
  // The fill's WAL is flushed now, not by a checkpoint in the middle of a measured round.
  await sql.unsafe(`checkpoint`)
}

/** The service's `ingest_pageview_table` counters: its pageview and leave batches by the table they ran on. */
async function pageviewTables(layout) {
  const text = await (await fetch(`http://127.0.0.1:${layout.port + 10}/metrics`)).text()
  const counts = {}
  for (const [, table, n] of text.matchAll(/^ingest_pageview_table\{[^}]*table="(\w+)"[^}]*\} (\d+)/gm))
    counts[table] = Number(n)
  return counts
}

const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} })
const procs = []
const results = []
try {
  for (const [name, layout] of Object.entries(layouts)) {
    await admin.unsafe(`create database "${layout.db}"`)
    const database = await openDatabase(
      { url: dbUrl(layout.db), poolMax: 2, connectTimeoutS: 10, statementTimeoutMs: 0 },
      {},
    )
    await database.migrate(layout.migrations)
    await database.close()
    const sql = postgres(dbUrl(layout.db), { max: 1, onnotice: () => {} })
    if (name === 'partitioned')
      await sql.unsafe(`select analytics_pageviews_add_partition(m) from generate_series(
        now() - interval '366 days', now() + interval '1 month', interval '1 month') m`)
    const began = performance.now()
    await fill(sql)
    const [{ n, parts }] = await sql.unsafe(`select count(*)::int as n,
      (select count(*)::int from pg_inherits where inhparent = 'analytics_pageviews'::regclass) as parts
      from analytics_pageviews`)
    layout.sessions = (
      await sql.unsafe(`select id::text from analytics_sessions order by random() limit 5000`)
    ).map((r) => r.id)
    await sql.end()
    log(
      `${name}: ${n} pageviews in ${parts || 1} table(s), filled in ${((performance.now() - began) / 1000).toFixed(0)} s`,
    )
    const url = `http://127.0.0.1:${layout.port}`
    const { child } = await startProcess(
      join(root, 'services/analytics/dist/server.js'),
      {
        ...env,
        ANALYTICS_PORT: String(layout.port),
        METRICS_PORT: String(layout.port + 10),
        ANALYTICS_DATABASE_URL: dbUrl(layout.db),
      },
      `${url}/readyz`,
    )
    procs.push(child)
    Object.assign(layout, { url, views: [] })
  }

  const pageview = (layout) => ({
    method: 'POST',
    path: '/api/v1/analytics/pageview',
    headers: { 'content-type': 'application/json' },
    setup: () => ({ body: JSON.stringify({ sessionId: pick(layout.sessions), path: '/creator/some-page' }) }),
  })
  const leave = (layout) => ({
    method: 'POST',
    path: '/',
    headers: { 'content-type': 'text/plain;charset=UTF-8' },
    setup: () => ({
      path: `/api/v1/analytics/pageview/${pick(layout.views)}/leave`,
      body: JSON.stringify({ duration: 12.5, scrollDepth: 60 }),
    }),
  })
  const collect = (layout) => (status, body) => {
    const id = status === 200 ? JSON.parse(body).data?.id : undefined
    if (id) layout.views.push(id)
  }
  for (const [route, request, onResponse] of [
    ['POST /analytics/pageview', pageview, collect],
    ['POST /analytics/pageview/:id/leave', leave, undefined],
  ]) {
    const rows = { plain: [], partitioned: [] }
    const failed = { plain: 0, partitioned: 0 }
    for (const layout of Object.values(layouts))
      await load({
        url: layout.url,
        connections: CONNECTIONS,
        duration: 1,
        request: request(layout),
        onResponse: onResponse?.(layout),
      })
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, layout] of Object.entries(layouts)) {
        const run = await load({
          url: layout.url,
          connections: CONNECTIONS,
          duration: DURATION,
          request: request(layout),
          onResponse: onResponse?.(layout),
        })
        rows[name].push(run.rps)
        failed[name] += run.non2xx + run.errors
      }
    }
    const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length
    // Where the partitioned service's batches ran (cumulative since its start; the partition
    // router names the month partition once it has read its statistics).
    const tables = await pageviewTables(layouts.partitioned)
    const row = {
      route,
      rows: ROWS,
      plainRps: mean(rows.plain),
      partitionedRps: mean(rows.partitioned),
      failed,
      partitionedBatches: tables,
    }
    row.ratio = row.partitionedRps / row.plainRps
    row.rounds = rows.partitioned.map((rps, i) => +(rps / rows.plain[i]).toFixed(3))
    results.push(row)
    log(
      `${route} @${CONNECTIONS}: partitioned ${row.partitionedRps.toFixed(0)} req/s · plain (0003) ${row.plainRps.toFixed(0)} req/s · ratio ${row.ratio.toFixed(2)} (rounds ${row.rounds.join(', ')}; non-2xx or errors ${failed.partitioned} / ${failed.plain}; partitioned service's batches so far ${JSON.stringify(tables)})`,
    )
  }
} finally {
  for (const child of procs) await stopProcess(child)
  for (const layout of Object.values(layouts))
    await admin.unsafe(`drop database if exists "${layout.db}" with (force)`)
  await admin.end()
}

const table = [
  `Pageview and leave throughput, ${ROWS.toLocaleString('en')} pageviews over 12 months, ${CONNECTIONS} connections, ${ROUNDS} alternating rounds of ${DURATION} s (${new Date().toISOString()}):`,
  '',
  '| route | partitioned (0004) req/s | one table (0003) req/s | ratio | per round | non-2xx (0004 / 0003) | 0004 batches so far: partition / parent |',
  '|---|---|---|---|---|---|---|',
  ...results.map(
    (r) =>
      `| ${r.route} | ${r.partitionedRps.toFixed(0)} | ${r.plainRps.toFixed(0)} | ${r.ratio.toFixed(2)} | ${r.rounds.join(', ')} | ${r.failed.partitioned} / ${r.failed.plain} | ${r.partitionedBatches.partition ?? 0} / ${r.partitionedBatches.parent ?? 0} |`,
  ),
  '',
].join('\n')
process.stdout.write(table)
if (!SMOKE) {
  writeFileSync(join(root, 'scripts/bench/partitions-results.json'), `${JSON.stringify(results, null, 2)}\n`)
  writeFileSync(join(root, 'scripts/bench/partitions-results.md'), table)
}
