import {
  expectRateLimited,
  freshClientIp,
  TEST_REDIS_URL as REDIS_URL,
  twoReadyInstances,
} from '@bio/service-kit/testing'
import { describe, expect, it } from 'vitest'
import {
  A,
  type AnalyticsApp,
  CHROME_UA,
  createSession,
  recordPageView,
  rowCounts,
  sessionBody,
  useAnalyticsHarness,
} from './helper.js'

/**
 * With REDIS_URL set the ingest limits hold across instances: two analytics instances share one
 * budget per client. Each run uses client addresses of its own (TRUST_PROXY=true,
 * x-forwarded-for from the 2001:db8::/32 documentation prefix), so reruns never meet old counters.
 */

const LIMITED = {
  RATE_LIMIT_ENABLED: 'true',
  TRUST_PROXY: 'true',
  RATE_LIMITS: 'createSession=3/1m,recordPageLeave=2/1m,sessionHeartbeat=2/30s',
}

const h = useAnalyticsHarness({ app: false })

const freshIp = () => freshClientIp(2)

const twoInstances = (env: Record<string, string>) => twoReadyInstances(() => h.build({ env }))

const session = (app: AnalyticsApp, ip: string) =>
  app.inject({
    method: 'POST',
    url: `${A}/session`,
    payload: sessionBody(),
    headers: { 'user-agent': CHROME_UA, 'x-forwarded-for': ip },
  })

describe('ingest limits shared through Redis (two instances)', () => {
  it('createSession=3/1m: calls spread over both instances share one budget; a refused call writes nothing', async () => {
    const [a, b] = await twoInstances({ ...LIMITED, REDIS_URL })
    const ip = freshIp()
    for (const app of [a, b, a]) expect((await session(app, ip)).statusCode).toBe(200)
    const before = await rowCounts(h)
    expectRateLimited(await session(b, ip), 60)
    expectRateLimited(await session(a, ip), 60)
    expect(await rowCounts(h)).toEqual(before)
    expect((await session(b, freshIp())).statusCode).toBe(200)
  })

  it('recordPageLeave=2/1m: the PATCH on one instance and the beacon POST on the other share it', async () => {
    const [a, b] = await twoInstances({ ...LIMITED, REDIS_URL })
    const seed = await h.build()
    const view = await recordPageView(seed, await createSession(seed))
    const ip = freshIp()
    const leave = (app: AnalyticsApp, method: 'PATCH' | 'POST') =>
      app.inject({
        method,
        url: `${A}/pageview/${view}/leave`,
        payload: JSON.stringify({ duration: 5 }),
        headers: {
          'x-forwarded-for': ip,
          'content-type': method === 'POST' ? 'text/plain;charset=UTF-8' : 'application/json',
        },
      })
    expect((await leave(a, 'PATCH')).statusCode).toBe(200)
    expect((await leave(b, 'POST')).statusCode).toBe(200)
    expectRateLimited(await leave(a, 'POST'), 60)
    expectRateLimited(await leave(b, 'PATCH'), 60)
  })

  it('sessionHeartbeat=2/30s holds across instances too', async () => {
    const [a, b] = await twoInstances({ ...LIMITED, REDIS_URL })
    const ip = freshIp()
    const beat = (app: AnalyticsApp) =>
      app.inject({
        method: 'PATCH',
        url: `${A}/session/7f0c0e8e-5d6b-4c1a-9f3e-000000000000/heartbeat`,
        headers: { 'x-forwarded-for': ip },
      })
    expect((await beat(a)).statusCode).toBe(200)
    expect((await beat(b)).statusCode).toBe(200)
    expectRateLimited(await beat(a), 30)
  })

  it('counts from the very first request after ready() (it waits for Redis instead of failing open)', async () => {
    for (let i = 0; i < 5; i++) {
      const app = await h.build({ env: { ...LIMITED, REDIS_URL } })
      await app.ready()
      const res = await session(app, freshIp())
      expect(res.statusCode).toBe(200)
      expect(res.headers['ratelimit-limit']).toBe('3')
      expect(res.headers['ratelimit-remaining'], `instance ${i + 1}`).toBe('2')
    }
  })

  it('(control) without REDIS_URL the other instance has not seen the client', async () => {
    const [a, b] = await twoInstances(LIMITED)
    const ip = freshIp()
    for (let i = 0; i < 3; i++) expect((await session(a, ip)).statusCode).toBe(200)
    expectRateLimited(await session(a, ip), 60)
    expect((await session(b, ip)).statusCode).toBe(200)
  })
})
