import { expectShed, lagUntilSampled, untilSampled } from '@bio/service-kit/testing'
import type { LightMyRequestResponse } from 'fastify'
import { describe, expect, it } from 'vitest'
import {
  A,
  type AnalyticsApp,
  CHROME_UA,
  createSession,
  rowCounts,
  sessionBody,
  useAnalyticsHarness,
} from './helper.js'

/**
 * Load shedding (shared/service-kit/src/http/plugins/overload.ts): while the event loop lags past
 * OVERLOAD_MAX_EVENT_LOOP_DELAY_MS, or the heap is over OVERLOAD_MAX_HEAP_MB, requests are
 * answered at once with 503 + retry-after in the envelope (writing nothing), the probes stay
 * truthful, and service resumes by itself once the pressure is gone.
 */

const h = useAnalyticsHarness({ app: false })

const newSession = (app: AnalyticsApp) =>
  app.inject({
    method: 'POST',
    url: `${A}/session`,
    payload: sessionBody(),
    headers: { 'user-agent': CHROME_UA },
  })

describe('event-loop lag (OVERLOAD_MAX_EVENT_LOOP_DELAY_MS=100)', () => {
  it('sheds with 503 + retry-after in the envelope, keeps the probes up, writes nothing, recovers', async () => {
    const app = await h.build({ env: { OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '100' } })
    await createSession(app)

    // A request is judged by the sampler's latest reading: lag the loop until the sampler has
    // recorded it, then ask at once (a sampler tick in between only means another round).
    const before = await rowCounts(h)
    let shed: LightMyRequestResponse | undefined
    let served = 0
    for (let round = 0; round < 5 && !shed; round++) {
      expect(await lagUntilSampled(app, 100), 'the sampler never saw the lag').toBe(true)
      const res = await newSession(app)
      if (res.statusCode === 503) shed = res
      else {
        expect(res.statusCode).toBe(200)
        served++
      }
    }
    expect(shed, 'no request was shed after the event loop was blocked').toBeDefined()
    expectShed(shed!)
    // The probes are exempt, so an orchestrator sees the truth rather than a dead process.
    const probes = await Promise.all(['/healthz', '/readyz'].map((url) => app.inject({ method: 'GET', url })))
    for (const probe of probes) expect(probe.statusCode, probe.body).toBe(200)
    expect(await app.metrics.metrics()).toMatch(
      /http_requests_total\{[^}]*route="\/api\/v1\/analytics\/session"[^}]*status="503"/,
    )
    // A shed write wrote nothing: only the requests that were served added rows.
    expect((await rowCounts(h)).sessions).toBe(before.sessions + served)

    // Once the loop is calm again, service resumes without a restart.
    let recovered = false
    for (let round = 0; round < 5 && !recovered; round++) {
      expect(await untilSampled(app, false), 'the sampler never saw a calm loop').toBe(true)
      const res = await newSession(app)
      if (res.statusCode === 200) recovered = true
      else expectShed(res)
    }
    expect(recovered, 'still shedding after the sampler saw a calm event loop').toBe(true)
  })
})

describe('heap over OVERLOAD_MAX_HEAP_MB', () => {
  it('a 1 MB limit sheds every API request with the envelope; the probes still answer', async () => {
    const app = await h.build({ env: { OVERLOAD_MAX_HEAP_MB: '1', OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0' } })
    const before = await rowCounts(h)
    // The heap is sampled every 250 ms; the first reading turns shedding on.
    expect(await untilSampled(app, true), 'the sampler never read the heap').toBe(true)
    expectShed(await newSession(app))
    for (const url of [`${A}/pageview`, `${A}/session/x/heartbeat`, '/nope']) {
      const method = url.includes('heartbeat') ? 'PATCH' : 'POST'
      expectShed(await app.inject({ method, url, payload: {} }))
    }
    for (const url of ['/healthz', '/readyz', '/healthz?from=lb', '/readyz?probe=1']) {
      expect((await app.inject({ method: 'GET', url })).statusCode, url).toBe(200)
    }
    // Nothing was written once the sampler read the heap.
    for (let i = 0; i < 5; i++) expectShed(await newSession(app))
    expect(await rowCounts(h)).toEqual(before)
  })
})
