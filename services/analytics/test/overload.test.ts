import type { LightMyRequestResponse } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  A,
  type AnalyticsApp,
  type AnalyticsHarness,
  analyticsHarness,
  CHROME_UA,
  createSession,
  expectError,
  rowCounts,
  sessionBody,
} from './helper.js'

/**
 * Load shedding (shared/src/http/overload.ts): while the event loop lags past
 * OVERLOAD_MAX_EVENT_LOOP_DELAY_MS, or the heap is over OVERLOAD_MAX_HEAP_MB, requests are
 * answered at once with 503 + retry-after in the envelope (writing nothing), the probes stay
 * truthful, and service resumes by itself once the pressure is gone.
 */

let h: AnalyticsHarness

beforeAll(async () => {
  h = await analyticsHarness()
})
afterAll(async () => {
  await h?.close()
})

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** An app with a test-only route whose handler blocks the event loop for `ms` milliseconds. */
async function blockableApp(env: Record<string, string>): Promise<AnalyticsApp> {
  const app = await h.build({ env })
  app.get('/__test/block', async (req) => {
    const ms = Number((req.query as { ms?: string }).ms ?? 0)
    const end = Date.now() + ms
    while (Date.now() < end) {
      // busy: nothing else runs meanwhile
    }
    return { blocked: ms }
  })
  return app
}

const newSession = (app: AnalyticsApp) =>
  app.inject({
    method: 'POST',
    url: `${A}/session`,
    payload: sessionBody(),
    headers: { 'user-agent': CHROME_UA },
  })

function expectShed(res: LightMyRequestResponse) {
  expectError(res, 503, 'SERVICE_UNAVAILABLE')
  expect(Number(res.headers['retry-after'])).toBeGreaterThan(0)
  expect(res.headers['x-content-type-options']).toBe('nosniff')
}

describe('event-loop lag (OVERLOAD_MAX_EVENT_LOOP_DELAY_MS=100)', () => {
  it('sheds with 503 + retry-after in the envelope, keeps the probes up, writes nothing, recovers', async () => {
    const app = await blockableApp({ OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '100' })
    await createSession(app)
    // Blocks longer than the 250 ms sampling interval: some sample window then holds nothing but lag.
    for (let i = 0; i < 3; i++) await app.inject({ method: 'GET', url: '/__test/block?ms=400' })

    const before = await rowCounts(h)
    let shed: LightMyRequestResponse | undefined
    let served = 0
    const deadline = Date.now() + 2000
    while (!shed && Date.now() < deadline) {
      const res = await newSession(app)
      if (res.statusCode === 503) shed = res
      else {
        expect(res.statusCode).toBe(200)
        served++
        await sleep(5)
      }
    }
    expect(shed, 'no request was shed after the event loop was blocked').toBeDefined()
    expectShed(shed!)
    // The probes are exempt, so an orchestrator sees the truth rather than a dead process.
    const probes = await Promise.all(
      ['/healthz', '/readyz', '/metrics'].map((url) => app.inject({ method: 'GET', url })),
    )
    for (const probe of probes) expect(probe.statusCode, probe.body).toBe(200)
    expect(probes[2]!.body).toMatch(
      /http_requests_total\{[^}]*route="\/api\/v1\/analytics\/session"[^}]*status="503"/,
    )
    // A shed write wrote nothing: only the requests that were served added rows.
    expect((await rowCounts(h)).sessions).toBe(before.sessions + served)

    // Once the loop is calm again, service resumes without a restart.
    let recovered = false
    const until = Date.now() + 3000
    while (!recovered && Date.now() < until) {
      const res = await newSession(app)
      if (res.statusCode === 200) recovered = true
      else {
        expectShed(res)
        await sleep(25)
      }
    }
    expect(recovered, 'still shedding 3 s after the event loop recovered').toBe(true)
  })
})

describe('heap over OVERLOAD_MAX_HEAP_MB', () => {
  it('a 1 MB limit sheds every API request with the envelope; the probes still answer', async () => {
    const app = await h.build({ env: { OVERLOAD_MAX_HEAP_MB: '1', OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0' } })
    const before = await rowCounts(h)
    let res = await newSession(app)
    // The heap is sampled every 250 ms; the first sample turns shedding on.
    for (let i = 0; i < 100 && res.statusCode !== 503; i++) {
      await sleep(10)
      res = await newSession(app)
    }
    expectShed(res)
    for (const url of [`${A}/pageview`, `${A}/session/x/heartbeat`, '/nope']) {
      const method = url.includes('heartbeat') ? 'PATCH' : 'POST'
      expectShed(await app.inject({ method, url, payload: {} }))
    }
    for (const url of ['/healthz', '/readyz', '/metrics', '/healthz?from=lb', '/readyz?probe=1']) {
      expect((await app.inject({ method: 'GET', url })).statusCode, url).toBe(200)
    }
    // Requests answered before the first sample may have been written; none after.
    const shedAt = await rowCounts(h)
    for (let i = 0; i < 5; i++) expectShed(await newSession(app))
    expect(await rowCounts(h)).toEqual(shedAt)
    expect(shedAt.sessions - before.sessions).toBeLessThanOrEqual(100)
  })
})
