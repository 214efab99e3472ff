import { loggerOptions } from '@bio/service-kit'
import { captureLogs, expectApiHeaders } from '@bio/service-kit/testing'
import type { LightMyRequestResponse } from 'fastify'
import { beforeAll, describe, expect, it } from 'vitest'
import { buildAnalyticsApp } from '../src/app.js'
import {
  A,
  type AnalyticsApp,
  bearer,
  CHROME_UA,
  createSession,
  expectError,
  recordPageView,
  sessionBody,
  signToken,
  TEST_SECRET,
  TRACKING_SECRET,
  testConfig,
  useAnalyticsHarness,
  VISITOR_SECRET,
} from './helper.js'

/**
 * Analytics on the wire and in its logs and metrics: security headers on every response (errors,
 * 404s, framework errors, a closing app's 503), CORS only for the allow-list, JSON logs with the
 * correlation id on every request line and no token or secret in them, and Prometheus /metrics with
 * request counts and latency per route and status, rate-limit rejections and the ingest batchers.
 */

const h = useAnalyticsHarness({ app: false })

const USER = '0e0e0e0e-0000-4000-8000-000000000001'

describe('security headers on every response', () => {
  let app: AnalyticsApp
  let view: string
  beforeAll(async () => {
    app = await h.build({ env: { CORS_ORIGINS: 'https://app.example' } })
    view = await recordPageView(app, await createSession(app))
  })

  const json = { 'content-type': 'application/json' }
  const cases: [string, () => Promise<LightMyRequestResponse>][] = [
    [
      '200 session',
      () =>
        app.inject({
          method: 'POST',
          url: `${A}/session`,
          payload: sessionBody(),
          headers: { 'user-agent': CHROME_UA },
        }),
    ],
    [
      '200 beacon (text/plain)',
      () =>
        app.inject({
          method: 'POST',
          url: `${A}/pageview/${view}/leave`,
          payload: '{"duration":1}',
          headers: { 'content-type': 'text/plain;charset=UTF-8' },
        }),
    ],
    ['401 identify without a token', () => app.inject({ method: 'PATCH', url: `${A}/session/x/identify` })],
    [
      '413',
      () =>
        app.inject({
          method: 'PATCH',
          url: `${A}/pageview/${view}/leave`,
          payload: JSON.stringify({ duration: 1, pad: 'x'.repeat(2000) }),
          headers: json,
        }),
    ],
  ]

  it.each(cases)('%s', async (_name, send) => {
    const res = await send()
    expect(res.statusCode).toBeLessThan(500)
    // Ingest is called from every bio page: its resources may be read cross-origin.
    expectApiHeaders(res, 'cross-origin')
  })
})

describe('logs (production logger options, trace level)', () => {
  it('are JSON with the correlation id on every request line and hold no token or secret', async () => {
    const { lines, stream } = captureLogs()
    const config = testConfig({ RATE_LIMIT_ENABLED: 'false', LOG_LEVEL: 'trace' }, h.testDb.url)
    const app = await buildAnalyticsApp({
      config,
      database: h.database,
      logger: { ...(loggerOptions(config.http) as object), stream },
    })
    const token = signToken(USER)
    const visitorId = `visitor-${Math.random().toString(36).slice(2)}-secretish`
    const ids: string[] = []
    const send = async (options: Record<string, unknown>, step: string) => {
      const id = `an-${step}-${Math.random().toString(36).slice(2, 10)}`
      ids.push(id)
      const headers = { ...(options.headers as Record<string, string> | undefined), 'x-request-id': id }
      return (await app.inject({ ...options, headers } as never)) as LightMyRequestResponse
    }
    const session = await send(
      {
        method: 'POST',
        url: `${A}/session`,
        payload: sessionBody({ visitorId }),
        headers: { 'user-agent': CHROME_UA },
      },
      'session',
    )
    const sessionId = session.json().data.id as string
    const view = await send(
      { method: 'POST', url: `${A}/pageview`, payload: { sessionId, path: '/a' } },
      'view',
    )
    const viewId = view.json().data.id as string
    await send({ method: 'PATCH', url: `${A}/pageview/${viewId}/leave`, payload: { duration: 3 } }, 'leave')
    await send({ method: 'PATCH', url: `${A}/session/${sessionId}/heartbeat` }, 'beat')
    await send(
      {
        method: 'PATCH',
        url: `${A}/session/${sessionId}/identify`,
        headers: { authorization: `Bearer ${token}` },
      },
      'identify',
    )
    await send(
      {
        method: 'PATCH',
        url: `${A}/session/${sessionId}/identify`,
        headers: { authorization: `Bearer ${token}x` },
      },
      'bad-token',
    )
    await app.close()

    expect(lines.length).toBeGreaterThan(0)
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>)
    for (const line of lines) {
      for (const secret of [
        token,
        ...token.split('.').filter((p) => p.length >= 16),
        TEST_SECRET,
        TRACKING_SECRET,
        VISITOR_SECRET,
        visitorId,
      ]) {
        expect(line.includes(secret), `log line holds a secret: ${line.slice(0, 200)}`).toBe(false)
      }
    }
    for (const line of parsed.filter((l) => 'req' in l || 'res' in l || 'err' in l)) {
      expect(ids, JSON.stringify(line)).toContain(line.correlationId)
    }
    for (const id of ids) {
      const msgs = parsed.filter((l) => l.correlationId === id).map((l) => l.msg)
      expect(msgs, id).toEqual(expect.arrayContaining(['incoming request', 'request completed']))
    }
  })
})

/** The value of one Prometheus sample, or undefined. */
function sample(body: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of body.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue
    const inner = line.slice(name.length + 1, line.lastIndexOf('}'))
    const have = Object.fromEntries([...inner.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]))
    if (Object.entries(labels).every(([k, v]) => have[k] === v))
      return Number(line.slice(line.lastIndexOf(' ') + 1))
  }
  return undefined
}

describe('GET /metrics (Prometheus, on METRICS_HOST:METRICS_PORT)', () => {
  it('is not served on the API port, and no listener is opened unless METRICS_PORT is set', async () => {
    const app = await h.build({})
    expectError(await app.inject({ method: 'GET', url: '/metrics' }), 404, 'NOT_FOUND')
    expect(await app.listenMetrics()).toBeNull()
  })

  it('counts requests and latency per route and status, rate-limit rejections and the ingest batchers', async () => {
    const app = await h.build({
      env: {
        RATE_LIMIT_ENABLED: 'true',
        TRUST_PROXY: 'true',
        RATE_LIMITS: 'createSession=2/1m',
        METRICS_PORT: '0',
      },
    })
    const address = await app.listenMetrics()
    expect(address?.address).toBe('127.0.0.1')
    const metricsUrl = `http://127.0.0.1:${address!.port}/metrics`
    const ip = { 'user-agent': CHROME_UA, 'x-forwarded-for': '2001:db8::77' }
    for (let i = 0; i < 3; i++) {
      await app.inject({ method: 'POST', url: `${A}/session`, payload: sessionBody(), headers: ip })
    }
    await app.inject({ method: 'POST', url: `${A}/pageview`, payload: {} })
    await app.inject({
      method: 'PATCH',
      url: `${A}/session/abc/identify`,
      headers: { authorization: bearer(USER) },
    })
    for (const path of ['/nope-1', '/nope-2', '/nope-3']) await app.inject({ method: 'GET', url: path })

    const res = await fetch(metricsUrl)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/)
    const body = await res.text()
    const route = `${A}/session`
    expect(sample(body, 'http_requests_total', { method: 'POST', route, status: '200' })).toBe(2)
    expect(sample(body, 'http_requests_total', { method: 'POST', route, status: '429' })).toBe(1)
    expect(
      sample(body, 'http_requests_total', { method: 'POST', route: `${A}/pageview`, status: '400' }),
    ).toBe(1)
    expect(
      sample(body, 'http_requests_total', {
        method: 'PATCH',
        route: `${A}/session/:id/identify`,
        status: '200',
      }),
    ).toBe(1)
    // Latency histogram per route and status.
    expect(
      sample(body, 'http_request_duration_seconds_count', { method: 'POST', route, status: '200' }),
    ).toBe(2)
    expect(
      sample(body, 'http_request_duration_seconds_bucket', {
        method: 'POST',
        route,
        status: '200',
        le: '+Inf',
      }),
    ).toBe(2)
    expect(
      sample(body, 'http_request_duration_seconds_sum', { method: 'POST', route, status: '200' }),
    ).toBeGreaterThan(0)
    // Rate-limit rejections.
    expect(sample(body, 'http_rate_limited_total', { route })).toBe(1)
    // Unknown paths share one label: a scanner cannot blow up the series count.
    expect(sample(body, 'http_requests_total', { method: 'GET', route: 'unmatched', status: '404' })).toBe(3)
    expect(body).not.toContain('nope-1')
    // The ingest batchers: the two tracked sessions went through the sessions batcher.
    expect(sample(body, 'ingest_batcher', { batcher: 'sessions', stat: 'items' })).toBe(2)
    expect(sample(body, 'ingest_batcher', { batcher: 'sessions', stat: 'batches' })).toBeGreaterThanOrEqual(1)
    expect(sample(body, 'ingest_batcher', { batcher: 'identifies', stat: 'items' })).toBe(0)
    for (const stat of ['retries', 'failedItems', 'rejected', 'queued', 'largestBatch']) {
      expect(sample(body, 'ingest_batcher', { batcher: 'pageViews', stat }), stat).toBe(0)
    }
    // Pageview and leave statements by the table they named: none yet, all three series present.
    for (const table of ['partition', 'parent', 'missing']) {
      expect(sample(body, 'ingest_pageview_table', { table }), table).toBe(0)
    }
    // Process figures, the event-loop delay among them.
    expect(body).toMatch(/^nodejs_eventloop_lag_p99_seconds\{[^}]*service="analytics"/m)
    expect(body).toMatch(/^process_resident_memory_bytes\{/m)
    // The listener serves nothing else, and closes with the app.
    expect((await fetch(metricsUrl.replace('/metrics', '/healthz'))).status).toBe(404)
    await app.close()
    await expect(fetch(metricsUrl)).rejects.toThrow()
  })
})
