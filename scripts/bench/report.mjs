// Renders the benchmark report as one Markdown table and writes `<out>.md` and `<out>.json`.
import { writeFileSync } from 'node:fs'

const fmt = (v, digits = 0) => (v === null || v === undefined || Number.isNaN(v) ? '–' : v.toFixed(digits))

export function writeReport(report, out) {
  const lines = [
    `# Benchmark results`,
    '',
    `${report.when} · ${report.smoke ? 'SMOKE RUN (1 s phases, numbers meaningless)' : `${report.durationSeconds} s per run; each ingest route in ${report.rounds} rounds alternating with its baseline, register and login in ${report.argon2Rounds} rounds each next to a raw argon2id run as long`} · 2-core machine, PostgreSQL 15 on the same machine, rate limits off, services log at warn.`,
    'Ratios: each ingest route against the bare-Fastify baseline at the same connection count, run in alternation with it and driven by the identical request generator (same per-request bodies, paths and headers, same response bookkeeping), as the ratio of the mean rates (p50: mean of the rounds; p99: worst round); register/login against raw argon2id hash/verify (19 MiB, t=2, p=1, 4 in parallel) in the same process kind, measured in alternating rounds (for them the baseline column holds raw hashes or verifies per second, and p99 is that of the worst round). The first rows load the bare route with one static request, the cheapest load autocannon can generate, for reference; the row marked reference runs the heartbeat through the analytics service’s own group commit behind a bare Fastify route (no validation, hooks, headers, metrics or logging): what this machine allows a write path that commits before it answers.',
    '',
    '| route | conns | req/s | p50 ms | p99 ms | baseline req/s | baseline p99 ms | ratio | p99 / baseline p99 | event-loop p99 ms | non-2xx | errors |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...report.load.map(
      (r) =>
        `| ${r.name} | ${r.connections} | ${fmt(r.rps)} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${fmt(r.baselineRps)} | ${fmt(r.baselineP99)} | ${fmt(r.ratio, 2)} | ${fmt(r.p99Ratio, 2)} | ${fmt(r.eventLoopP99Ms, 1)} | ${r.non2xx} | ${r.errors} |`,
    ),
    '',
    `CPU per answered request at ${report.cpuRate} requests/s offered (open loop, 50 connections), from /proc/<pid>/stat of the service process and of the PostgreSQL backends connected to its database; the load generator's CPU is not counted. "× bare" is the total against the bare route's.`,
    '',
    '| route | req/s | service µs | PostgreSQL µs | total µs | × bare | non-2xx |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...(report.cpu ?? []).map(
      (r) =>
        `| ${r.name} | ${fmt(r.rps)} | ${fmt(r.serviceUs)} | ${fmt(r.postgresUs)} | ${fmt(r.totalUs)} | ${fmt(r.vsBare, 2)} | ${r.non2xx} |`,
    ),
    '',
    '| figure | value |',
    '|---|---:|',
    ...Object.entries(report.startup).flatMap(([svc, s]) => [
      `| ${svc}: start to ready (ms) | ${s.readyMs} |`,
      `| ${svc}: resident memory 1 s after ready (MB) | ${s.rssAfterStartMb} |`,
      `| ${svc}: idle resident memory, ${report.idleSeconds} s without requests (MB) | ${s.idleRssMb} |`,
    ]),
    `| raw argon2id hash/s | ${fmt(report.argon2?.hashPerSecond, 1)} |`,
    `| raw argon2id verify/s | ${fmt(report.argon2?.verifyPerSecond, 1)} |`,
    ...Object.entries(report.tokenVerifyPerSecond ?? {}).flatMap(([alg, r]) => [
      `| token verification/s ${alg}, distinct tokens (cache off) | ${r.uncached} |`,
      `| token verification/s ${alg}, repeated tokens (cache on) | ${r.cached} |`,
      `| bare fast-jwt verify/s ${alg} (baseline, same run) | ${r.rawFastJwt} |`,
      `| ${alg}: verifier / bare fast-jwt | ${fmt(r.uncachedRatio, 2)} |`,
    ]),
    `| acknowledged sessions in DB | ${report.checks.sessionsInDatabase} / ${report.checks.sessionsAnswered} |`,
    `| acknowledged pageviews in DB | ${report.checks.pageViewsInDatabase} / ${report.checks.pageViewsAnswered} |`,
    `| sum(page_views) = pageview rows | ${report.checks.pageViewCounterMatchesRows} |`,
    '',
  ]
  const md = lines.join('\n')
  writeFileSync(`${out}.md`, md)
  writeFileSync(`${out}.json`, `${JSON.stringify(report, null, 2)}\n`)
  return `${md}\nwritten: ${out}.md, ${out}.json\n`
}
