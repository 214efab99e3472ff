#!/usr/bin/env node
// `npm run bench` (after a build): measures both services against a real PostgreSQL in one run,
// next to a bare-Fastify baseline and raw argon2 measured in the same run, and writes
// scripts/bench/results.{json,md}. `--smoke` runs every phase for one second (CI uses it to prove
// the command works; its numbers mean nothing). Rate limits are off; services log at `warn`.
import { randomBytes, randomUUID } from 'node:crypto'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import postgres from 'postgres'
import { uuidV7 } from '../../services/analytics/dist/lib/uuid-v7.js'
import { createAccessTokenSigner } from '../../services/auth/dist/tokens/access-token-signer.js'
import { meterCpu } from './cpu.mjs'
import { load } from './load.mjs'
import { rssMb, startProcess, stopProcess } from './processes.mjs'
import { writeReport } from './report.mjs'
import { measureTokenVerification } from './token-verify.mjs'

// `--phase partitions`: only the partitioned-pageviews benchmark (partitions.mjs), which fills its
// own databases with millions of rows and so is not part of the default run.
const phaseAt = process.argv.indexOf('--phase')
if (phaseAt >= 0) {
  const phase = process.argv[phaseAt + 1]
  if (phase !== 'partitions') {
    console.error(`unknown --phase ${phase}: the one selectable phase is partitions`)
    process.exit(2)
  }
  await import('./partitions.mjs')
  process.exit(0)
}

const root = fileURLToPath(new URL('../..', import.meta.url))
const argon2 = createRequire(join(root, 'services/auth/package.json'))('argon2')
const SMOKE = process.argv.includes('--smoke')
const DURATION = SMOKE ? 1 : Number(process.env.BENCH_DURATION ?? 5)
// argon2-bound phases complete ~70 requests/s: in one 5 s run the first round trip (~0.2 s, no
// answer yet on any connection) costs several per cent and the JIT is still compiling the
// handlers. They run in rounds, each next to a raw argon2 run of the same length.
const ARGON2_ROUNDS = SMOKE ? 1 : 3
// Paired ingest runs: baseline and route alternate this many times per connection count.
const ROUNDS = SMOKE ? 1 : 2
const CONNECTIONS = SMOKE ? [50] : [50, 100, 200]
// The CPU-per-request phases offer a fixed rate (open loop), so every route does the same work per second.
const CPU_RATE = SMOKE ? 300 : Number(process.env.BENCH_CPU_RATE ?? 3000)
const WARMUP = 1
const IDLE_S = SMOKE ? 2 : 30
const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
const ARGON2 = { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 }
const CHROME_UA =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36'
const PORTS = { auth: 4101, analytics: 4102, baseline: 4100, groupCommit: 4103 }
const secret = () => randomBytes(48).toString('base64url')
const pick = (list) => list[Math.floor(Math.random() * list.length)]
const log = (msg) => process.stderr.write(`› ${msg}\n`)

// ---- databases -----------------------------------------------------------------------------
const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} })
const suffix = randomBytes(4).toString('hex')
const dbs = { auth: `bench_auth_${suffix}`, analytics: `bench_analytics_${suffix}` }
const dbUrl = (name) => Object.assign(new URL(ADMIN_URL), { pathname: `/${name}` }).toString()
for (const name of Object.values(dbs)) await admin.unsafe(`create database "${name}"`)

// Auth mails every sign-up (the verification mail): a local SMTP sink accepts and discards them,
// so delivery costs what it costs in production and nothing waits on a mail server.
const { SMTPServer } = createRequire(join(root, 'services/auth/package.json'))('smtp-server')
const smtpSink = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS'],
  logger: false,
  onData(stream, _session, callback) {
    stream.on('end', () => callback())
    stream.resume()
  },
})
await new Promise((resolve) => smtpSink.listen(0, '127.0.0.1', resolve))

const tokens = { JWT_SECRET: secret(), JWT_ISSUER: 'bio-re-auth', JWT_AUDIENCE: 'bio-re-api' }
const env = {
  SMTP_URL: `smtp://127.0.0.1:${smtpSink.server.address().port}`,
  NODE_ENV: 'production',
  LOG_LEVEL: 'warn',
  RATE_LIMIT_ENABLED: 'false',
  ...tokens,
  TRACKING_HMAC_SECRET: secret(),
  VISITOR_HASH_SECRET: secret(),
  LOGIN_THROTTLE_SECRET: secret(),
  AUTH_PORT: String(PORTS.auth),
  ANALYTICS_PORT: String(PORTS.analytics),
  AUTH_DATABASE_URL: dbUrl(dbs.auth),
  ANALYTICS_DATABASE_URL: dbUrl(dbs.analytics),
}
const base = (svc) => `http://127.0.0.1:${PORTS[svc]}`
const files = {
  auth: join(root, 'services/auth/dist/server.js'),
  analytics: join(root, 'services/analytics/dist/server.js'),
  baseline: join(root, 'scripts/bench/baseline-server.mjs'),
  groupCommit: join(root, 'scripts/bench/group-commit-server.mjs'),
}
/** Each service serves its Prometheus metrics on a port of its own, ten above its API port. */
const metricsUrl = (svc) => `http://127.0.0.1:${PORTS[svc] + 10}/metrics`
const start = (svc, extra = {}) =>
  startProcess(
    files[svc],
    { ...env, PORT: String(PORTS[svc]), METRICS_PORT: String(PORTS[svc] + 10), ...extra },
    `${base(svc)}/readyz`,
  )

/**
 * One table row from `rounds` of `{ run, ref }`: `run` a load result, `ref` what it is compared
 * with in the same round (a baseline load, or `{ rps }` of raw argon2). Rates are means and the
 * ratio is of the means; p50 is the mean, p99 the worst round's.
 */
function roundsRow(name, connections, rounds) {
  const mean = (f) => rounds.reduce((sum, x) => sum + f(x), 0) / rounds.length
  const total = (f) => rounds.reduce((sum, x) => sum + f(x), 0)
  const worst = (f) => Math.max(...rounds.map(f))
  const row = {
    name,
    connections,
    rps: mean((x) => x.run.rps),
    p50: mean((x) => x.run.p50),
    p99: worst((x) => x.run.p99),
    total: total((x) => x.run.total),
    non2xx: total((x) => x.run.non2xx),
    errors: total((x) => x.run.errors),
    ratio: null,
    p99Ratio: null,
  }
  if (rounds[0].ref) {
    row.baselineRps = mean((x) => x.ref.rps)
    row.ratio = row.rps / row.baselineRps
    if (rounds[0].ref.p99 !== undefined) {
      row.baselineP50 = mean((x) => x.ref.p50)
      row.baselineP99 = worst((x) => x.ref.p99)
      row.p99Ratio = row.p99 / row.baselineP99
    }
    row.rounds = rounds.map((x) => ({ rps: x.run.rps, baselineRps: x.ref.rps }))
  }
  return row
}

const report = {
  when: new Date().toISOString(),
  smoke: SMOKE,
  durationSeconds: DURATION,
  argon2Rounds: ARGON2_ROUNDS,
  rounds: ROUNDS,
  idleSeconds: IDLE_S,
  startup: {},
  load: [],
  cpu: [],
  cpuRate: CPU_RATE,
  checks: {},
}
const procs = {}
try {
  // ---- start-up time and memory (second start: migrations already applied) ---------------------
  // Resident memory twice: 1 s after ready (start-up's garbage still in the heap), and idle, after
  // IDLE_S without a request, by when V8's memory reducer has given back what start-up needed.
  for (const svc of ['auth', 'analytics']) {
    await stopProcess((await start(svc)).child)
    const { child, readyMs } = await start(svc)
    await new Promise((r) => setTimeout(r, 1000))
    report.startup[svc] = { readyMs: Math.round(readyMs), rssAfterStartMb: Math.round(rssMb(child.pid)) }
    procs[svc] = child
  }
  await new Promise((r) => setTimeout(r, IDLE_S * 1000))
  for (const svc of ['auth', 'analytics']) {
    const s = report.startup[svc]
    s.idleRssMb = Math.round(rssMb(procs[svc].pid))
    log(`${svc}: ready in ${s.readyMs} ms, RSS ${s.rssAfterStartMb} MB after start, ${s.idleRssMb} MB idle`)
  }
  procs.baseline = (await start('baseline')).child
  procs.groupCommit = (await start('groupCommit')).child

  // ---- in-process token verification (HS256 and EdDSA, cache off and on, fast-jwt baseline) -----
  report.tokenVerifyPerSecond = await measureTokenVerification({ count: SMOKE ? 2000 : 20_000 })
  for (const [alg, r] of Object.entries(report.tokenVerifyPerSecond)) {
    log(
      `token verification ${alg}: ${r.uncached}/s distinct (${r.uncachedRatio}× bare fast-jwt ${r.rawFastJwt}/s), ${r.cached}/s repeated (cache)`,
    )
  }
  const sign = createAccessTokenSigner({
    algorithm: 'HS256',
    secret: tokens.JWT_SECRET,
    issuer: tokens.JWT_ISSUER,
    audience: tokens.JWT_AUDIENCE,
    accessTtlSeconds: 900,
  })

  // ---- raw argon2 with the service's parameters (measured in rounds next to register/login) ---
  const argonRate = async (fn, seconds) => {
    let done = 0
    const until = performance.now() + seconds * 1000
    const worker = async () => {
      while (performance.now() < until) {
        await fn()
        done++
      }
    }
    const began = performance.now()
    await Promise.all(Array.from({ length: 4 }, worker))
    return done / ((performance.now() - began) / 1000)
  }
  const sampleHash = await argon2.hash('Bench-Passw0rd', ARGON2)

  const idsFrom = (set) => (status, body) => {
    if (status !== 200) return
    const id = JSON.parse(body).data?.id
    if (id) set.add(id)
  }

  /**
   * Loads `svc` with `request` at each connection count. `paired`: in ROUNDS alternating runs, the
   * bare baseline and then the route, both driven by the identical request generator (same
   * per-request bodies, paths and headers, same response bookkeeping), so the ratio compares
   * servers and not the work the load generator does for them on the same two cores, and both
   * sides sample the same stretches of a machine whose speed drifts from minute to minute. The
   * ratio is of the mean rates; p50 is the mean, p99 the worst round's.
   */
  const phase = async (
    name,
    svc,
    request,
    { paired = false, connections = CONNECTIONS, onResponse } = {},
  ) => {
    // Warm-up, not recorded, once per phase: JIT, connection pools, prepared statements (generic
    // plans start at the sixth execution); the first second of a cold run is several times slower.
    const discard = onResponse ? idsFrom(new Set()) : undefined
    if (paired) {
      await load({
        url: base('baseline'),
        connections: connections[0],
        duration: WARMUP,
        request,
        onResponse: discard,
      })
    }
    await load({ url: base(svc), connections: connections[0], duration: WARMUP, request, onResponse })
    for (const c of connections) {
      const rounds = []
      for (let i = 0; i < (paired ? ROUNDS : 1); i++) {
        const baseline = paired
          ? await load({
              url: base('baseline'),
              connections: c,
              duration: DURATION,
              request,
              onResponse: discard,
            })
          : undefined
        const run = await load({ url: base(svc), connections: c, duration: DURATION, request, onResponse })
        rounds.push({ run, ref: baseline })
      }
      const row = roundsRow(name, c, rounds)
      report.load.push(row)
      log(
        `${name} @${c}: ${row.rps.toFixed(0)} req/s p50 ${row.p50} ms p99 ${row.p99} ms (non-2xx ${row.non2xx}, errors ${row.errors})` +
          (paired
            ? ` · baseline ${row.baselineRps.toFixed(0)} · ratio ${row.ratio.toFixed(2)} (rounds ${row.rounds.map((x) => (x.rps / x.baselineRps).toFixed(2)).join(', ')})`
            : ''),
      )
    }
  }

  // ---- auth: register and login next to raw argon2, with the event-loop delay ----------------------
  // Before the ingest phases leave PostgreSQL busy with autovacuum and checkpoints. The machine's
  // speed drifts by several per cent from one quarter-minute to the next (raw verify measured 11%
  // faster than raw hash, 15 s apart, for the same work), so the raw rate and the route are
  // measured in alternating rounds and summed: both sides see the same stretch of time.
  const eventLoopP99 = async () => {
    const text = await (await fetch(metricsUrl('auth'))).text()
    return (
      Number(/^nodejs_eventloop_lag_p99_seconds\{[^}]*\} ([0-9.e-]+)/m.exec(text)?.[1] ?? Number.NaN) * 1000
    )
  }
  const argon2Phase = async (name, request, raw) => {
    await load({ url: base('auth'), connections: 16, duration: WARMUP, request })
    const rounds = []
    let eventLoop = 0
    for (let i = 0; i < ARGON2_ROUNDS; i++) {
      const rawRate = await argonRate(raw, DURATION)
      await eventLoopP99() // resets the service's event-loop histogram
      const run = await load({ url: base('auth'), connections: 16, duration: DURATION, request })
      eventLoop = Math.max(eventLoop, await eventLoopP99())
      rounds.push({ run, ref: { rps: rawRate } })
    }
    const row = { ...roundsRow(name, 16, rounds), eventLoopP99Ms: eventLoop }
    report.load.push(row)
    log(
      `${name} @16: ${row.rps.toFixed(1)} req/s against raw ${row.baselineRps.toFixed(1)}/s · ratio ${row.ratio.toFixed(2)} · event-loop p99 ${eventLoop.toFixed(1)} ms (${ARGON2_ROUNDS} rounds)`,
    )
    return row.baselineRps
  }
  let n = 0
  const rawHash = await argon2Phase(
    'POST /auth/register',
    {
      method: 'POST',
      path: '/api/v1/auth/register',
      headers: { 'content-type': 'application/json' },
      setup: () => ({
        body: JSON.stringify({
          email: `bench-${suffix}-${n++}@example.com`,
          password: 'Bench-Passw0rd',
          acceptedTerms: true,
          acceptedPrivacy: true,
        }),
      }),
    },
    () => argon2.hash('Bench-Passw0rd', ARGON2),
  )
  // Many accounts, so that 16 connections seldom sign one account in at the same moment (the
  // sign-in throttle counts an attempt before its password is checked).
  const loginBodies = Array.from({ length: Math.min(n, 200) }, (_, i) =>
    JSON.stringify({ email: `bench-${suffix}-${i}@example.com`, password: 'Bench-Passw0rd' }),
  )
  const rawVerify = await argon2Phase(
    'POST /auth/login',
    {
      method: 'POST',
      path: '/api/v1/auth/login',
      headers: { 'content-type': 'application/json' },
      setup: () => ({ body: pick(loginBodies) }),
    },
    () => argon2.verify(sampleHash, 'Bench-Passw0rd'),
  )
  report.argon2 = { hashPerSecond: rawHash, verifyPerSecond: rawVerify }

  // ---- baseline ---------------------------------------------------------------------------------
  const sampleBody = JSON.stringify({
    sessionId: randomUUID(),
    path: '/creator/some-page',
    title: 'A page title',
  })
  // For reference: the bare route under the cheapest possible load (one static request).
  await phase('baseline: bare Fastify, one static request', 'baseline', {
    method: 'POST',
    path: '/api/v1/analytics/pageview',
    headers: { 'content-type': 'application/json' },
    body: sampleBody,
  })

  // ---- analytics ----------------------------------------------------------------------------------
  const sessionIds = new Set()
  await phase(
    'POST /analytics/session',
    'analytics',
    {
      method: 'POST',
      path: '/api/v1/analytics/session',
      headers: { 'content-type': 'application/json', 'user-agent': CHROME_UA },
      setup: () => ({
        body: JSON.stringify({
          visitorId: randomUUID(),
          consentAnalytics: 'granted',
          referrer: 'https://www.example.com/x',
        }),
      }),
    },
    { paired: true, onResponse: idsFrom(sessionIds) },
  )
  const pool = [...sessionIds].slice(0, 5000)
  const pageViewIds = new Set()
  await phase(
    'POST /analytics/pageview',
    'analytics',
    {
      method: 'POST',
      path: '/api/v1/analytics/pageview',
      headers: { 'content-type': 'application/json' },
      setup: () => ({
        body: JSON.stringify({ sessionId: pick(pool), path: '/creator/some-page', title: 'A page title' }),
      }),
    },
    { paired: true, onResponse: idsFrom(pageViewIds) },
  )
  const views = [...pageViewIds]
  await phase(
    'POST /analytics/pageview/:id/leave (text/plain beacon)',
    'analytics',
    {
      method: 'POST',
      path: '/',
      headers: { 'content-type': 'text/plain;charset=UTF-8' },
      setup: () => ({
        path: `/api/v1/analytics/pageview/${pick(views)}/leave`,
        body: JSON.stringify({ duration: 12.5, scrollDepth: 60 }),
      }),
    },
    { paired: true },
  )
  await phase(
    'PATCH /analytics/session/:id/heartbeat',
    'analytics',
    {
      method: 'PATCH',
      path: '/',
      setup: () => ({ path: `/api/v1/analytics/session/${pick(pool)}/heartbeat` }),
    },
    { paired: true },
  )
  await phase(
    'reference: heartbeat on bare Fastify + the same group commit',
    'groupCommit',
    {
      method: 'PATCH',
      path: '/',
      setup: () => ({ path: `/api/v1/analytics/session/${pick(pool)}/heartbeat` }),
    },
    { paired: true },
  )
  const bearer = Array.from(
    { length: 200 },
    () => `Bearer ${sign({ userId: randomUUID(), sessionId: randomUUID() }).accessToken}`,
  )
  await phase(
    'PATCH /analytics/session/:id/identify',
    'analytics',
    {
      method: 'PATCH',
      path: '/',
      setup: () => ({
        path: `/api/v1/analytics/session/${pick(pool)}/identify`,
        headers: { authorization: pick(bearer) },
      }),
    },
    { paired: true },
  )

  // ---- CPU per request at a fixed offered rate, from /proc ------------------------------------------
  // The service process and the PostgreSQL backends of its database, per answered request, next to
  // the bare route's. Independent of how much of the two cores the load generator takes.
  const stats = postgres(ADMIN_URL, { max: 1, onnotice: () => {} })
  const cpuPhase = async (name, svc, request, onResponse) => {
    await load({ url: base(svc), connections: 50, duration: WARMUP, request, rate: CPU_RATE, onResponse })
    const meter = await meterCpu({
      pid: procs[svc].pid,
      sql: stats,
      datname: svc === 'baseline' ? null : dbs.analytics,
    })
    const run = await load({
      url: base(svc),
      connections: 50,
      duration: DURATION,
      request,
      rate: CPU_RATE,
      onResponse,
    })
    const { serviceS, postgresS } = await meter.stop()
    const answered = Math.max(1, run.total)
    const row = {
      name,
      offeredRate: CPU_RATE,
      rps: run.rps,
      serviceUs: (serviceS * 1e6) / answered,
      postgresUs: (postgresS * 1e6) / answered,
      non2xx: run.non2xx,
    }
    row.totalUs = row.serviceUs + row.postgresUs
    report.cpu.push(row)
    log(
      `cpu ${name}: ${row.serviceUs.toFixed(0)} µs service + ${row.postgresUs.toFixed(0)} µs PostgreSQL per request at ${run.rps.toFixed(0)} req/s`,
    )
    return row
  }
  const bare = await cpuPhase('bare route (baseline)', 'baseline', {
    method: 'POST',
    path: '/api/v1/analytics/pageview',
    headers: { 'content-type': 'application/json' },
    setup: () => ({
      body: JSON.stringify({ sessionId: pick(pool), path: '/creator/some-page', title: 'A page title' }),
    }),
  })
  const cpuViews = new Set()
  for (const [name, withId] of [
    ['POST /analytics/pageview (server-made ids)', false],
    ['POST /analytics/pageview (client UUIDv7 ids)', true],
  ]) {
    await cpuPhase(
      name,
      'analytics',
      {
        method: 'POST',
        path: '/api/v1/analytics/pageview',
        headers: { 'content-type': 'application/json' },
        setup: () => ({
          body: JSON.stringify({
            ...(withId ? { id: uuidV7(Date.now()) } : {}),
            sessionId: pick(pool),
            path: '/creator/some-page',
            title: 'A page title',
          }),
        }),
      },
      idsFrom(cpuViews),
    )
  }
  for (const id of cpuViews) pageViewIds.add(id)
  let seq = 0
  await cpuPhase('PATCH /analytics/session/:id/heartbeat ({ seq })', 'analytics', {
    method: 'PATCH',
    path: '/',
    headers: { 'content-type': 'application/json' },
    setup: () => ({
      path: `/api/v1/analytics/session/${pick(pool)}/heartbeat`,
      body: JSON.stringify({ seq: seq++ }),
    }),
  })
  for (const row of report.cpu) row.vsBare = row.totalUs / bare.totalUs
  await stats.end()

  // ---- every acknowledged write is in the database, exactly once ------------------------------------
  const analyticsDb = postgres(dbUrl(dbs.analytics), { max: 1, onnotice: () => {} })
  const [s] =
    await analyticsDb`select count(*)::int as n from analytics_sessions where id = any(${[...sessionIds]}::uuid[])`
  const allViews = [...pageViewIds]
  const [p] =
    await analyticsDb`select count(*)::int as n from analytics_pageviews where id = any(${allViews}::uuid[])`
  const [all] =
    await analyticsDb`select (select count(*)::int from analytics_pageviews) as views, (select coalesce(sum(page_views), 0)::int from analytics_sessions) as counted`
  await analyticsDb.end()
  report.checks = {
    sessionsAnswered: sessionIds.size,
    sessionsInDatabase: s.n,
    pageViewsAnswered: allViews.length,
    pageViewsInDatabase: p.n,
    pageViewCounterMatchesRows: all.views === all.counted,
  }
  report.checks.ok = s.n === sessionIds.size && p.n === allViews.length && all.views === all.counted
  log(`checks: ${JSON.stringify(report.checks)}`)
} finally {
  for (const child of Object.values(procs)) await stopProcess(child)
  for (const name of Object.values(dbs)) await admin.unsafe(`drop database if exists "${name}" with (force)`)
  await admin.end()
  await new Promise((resolve) => smtpSink.close(resolve))
}

const out = SMOKE ? join(tmpdir(), 'bio-re-bench-smoke') : join(root, 'scripts/bench/results')
process.stdout.write(writeReport(report, out))
if (!report.checks.ok) {
  process.stderr.write('✖ an acknowledged write is missing from the database\n')
  process.exit(1)
}
