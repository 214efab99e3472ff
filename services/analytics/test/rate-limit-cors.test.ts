import { expectRateLimited } from '@bio/service-kit/testing'
import { describe, expect, it } from 'vitest'
import {
  A,
  CHROME_UA,
  createSession,
  expectOk,
  heartbeat,
  leave,
  postPageView,
  postSession,
  recordPageView,
  rowCounts,
  sessionBody,
  sessionRow,
  testClock,
  UUID_RE,
  useAnalyticsHarness,
} from './helper.js'

const h = useAnalyticsHarness({ app: false })

const LIMITED = {
  RATE_LIMIT_ENABLED: 'true',
  RATE_LIMITS: 'createSession=2/1m,sessionHeartbeat=2/30s,recordPageLeave=2/1m,recordPageView=3/1m',
}

describe('rate limits (RATE_LIMIT_ENABLED=true, RATE_LIMITS overrides)', () => {
  it('createSession=2/1m: the third call is 429 with retry-after, and writes nothing', async () => {
    const app = await h.build({ env: LIMITED })
    for (let i = 0; i < 2; i++) {
      const res = await postSession(app, sessionBody())
      expect(res.json().data.id).toMatch(UUID_RE)
      expect(res.headers['ratelimit-limit']).toBe('2')
    }
    const before = await rowCounts(h)
    expectRateLimited(await postSession(app, sessionBody()), 60)
    expect(await rowCounts(h)).toEqual(before)
  })

  it('sessionHeartbeat=2/30s: the third beat is 429 and adds nothing', async () => {
    // A beat adds the time since the session's last activity (at most 30 s): the clock moves 30 s per beat.
    const clock = testClock()
    const app = await h.build({ env: LIMITED, now: clock.nowMs })
    const id = await createSession(app)
    clock.advance(30_000)
    expectOk(await heartbeat(app, id))
    clock.advance(30_000)
    expectOk(await heartbeat(app, id))
    clock.advance(30_000)
    expectRateLimited(await heartbeat(app, id), 30)
    expect((await sessionRow(h, id))!.duration).toBe(60)
  })

  it('recordPageView=3/1m: the fourth view is 429 and is not counted', async () => {
    const app = await h.build({ env: LIMITED })
    const id = await createSession(app)
    for (let i = 0; i < 3; i++) await recordPageView(app, id)
    expectRateLimited(await postPageView(app, { sessionId: id, path: '/' }), 60)
    expect((await sessionRow(h, id))!.pageViews).toBe(3)
  })

  it('recordPageLeave=2/1m: PATCH and the POST beacon share one counter', async () => {
    const app = await h.build({ env: LIMITED })
    const id = await createSession(app)
    const view = await recordPageView(app, id)
    expectOk(await leave(app, view, { duration: 1 }, 'PATCH'))
    expectOk(await leave(app, view, { duration: 2 }, 'POST'))
    expectRateLimited(await leave(app, view, { duration: 3 }, 'PATCH'), 60)
    expectRateLimited(await leave(app, view, { duration: 4 }, 'POST'), 60)
    expect((await sessionRow(h, id))!.duration).toBe(2)
  })

  it('each operation has its own counter', async () => {
    const app = await h.build({ env: LIMITED })
    const id = await createSession(app)
    await createSession(app)
    expectRateLimited(await postSession(app, sessionBody()), 60)
    // Sessions are exhausted; heartbeats are not.
    expectOk(await heartbeat(app, id))
  })

  it('without overrides, the contract defaults apply: createSession 10/min, heartbeat 5/30 s', async () => {
    const app = await h.build({ env: { RATE_LIMIT_ENABLED: 'true' } })
    let id = ''
    for (let i = 0; i < 10; i++) {
      const res = await postSession(app, sessionBody())
      expect(res.statusCode, `call ${i + 1}`).toBe(200)
      id = res.json().data.id
    }
    expectRateLimited(await postSession(app, sessionBody()), 60)
    for (let i = 0; i < 5; i++) expectOk(await heartbeat(app, id))
    expectRateLimited(await heartbeat(app, id), 30)
  })

  it('silent rejections (bots) count against the limit too', async () => {
    const app = await h.build({ env: LIMITED })
    const bot = { 'user-agent': 'curl/8.4.0' }
    for (let i = 0; i < 2; i++) expect((await postSession(app, sessionBody(), bot)).statusCode).toBe(200)
    expectRateLimited(await postSession(app, sessionBody(), bot), 60)
  })

  it('counters are per client IP: the socket peer, or with TRUST_PROXY the forwarded client', async () => {
    // Without TRUST_PROXY a client cannot pick a fresh bucket by sending x-forwarded-for.
    const plain = await h.build({ env: LIMITED })
    const as = (ip: string) => ({ 'user-agent': CHROME_UA, 'x-forwarded-for': ip })
    await postSession(plain, sessionBody(), as('198.51.100.1'))
    await postSession(plain, sessionBody(), as('198.51.100.2'))
    expectRateLimited(await postSession(plain, sessionBody(), as('198.51.100.3')), 60)
    // Another socket peer has its own bucket.
    const other = await postSession(plain, sessionBody(), as('198.51.100.3'), {
      remoteAddress: '203.0.113.50',
    })
    expect(other.statusCode).toBe(200)

    const proxied = await h.build({ env: { ...LIMITED, TRUST_PROXY: 'true' } })
    await postSession(proxied, sessionBody(), as('198.51.100.1'))
    await postSession(proxied, sessionBody(), as('198.51.100.1'))
    expectRateLimited(await postSession(proxied, sessionBody(), as('198.51.100.1')), 60)
    expect((await postSession(proxied, sessionBody(), as('198.51.100.2'))).statusCode).toBe(200)
  })
})

describe('CORS (CORS_ORIGINS=https://app.example)', () => {
  const ORIGIN = 'https://app.example'

  const preflight = (url: string, method: string, origin: string, headers = 'content-type') =>
    h.build({ env: { CORS_ORIGINS: ORIGIN } }).then((app) =>
      app.inject({
        method: 'OPTIONS',
        url,
        headers: {
          origin,
          'access-control-request-method': method,
          'access-control-request-headers': headers,
        },
      }),
    )

  it('preflight for PATCH /pageview/x/leave → 204 with origin and credentials', async () => {
    const res = await preflight(`${A}/pageview/x/leave`, 'PATCH', ORIGIN)
    expect(res.statusCode).toBe(204)
    expect(res.headers['access-control-allow-origin']).toBe(ORIGIN)
    expect(res.headers['access-control-allow-credentials']).toBe('true')
    expect(String(res.headers['access-control-allow-methods'])).toMatch(/PATCH/)
    expect(String(res.headers['access-control-allow-headers']).toLowerCase()).toMatch(/content-type/)
  })

  it('preflight for POST /session with content-type application/json → 204 with origin and credentials', async () => {
    const res = await preflight(`${A}/session`, 'POST', ORIGIN)
    expect(res.statusCode).toBe(204)
    expect(res.headers['access-control-allow-origin']).toBe(ORIGIN)
    expect(res.headers['access-control-allow-credentials']).toBe('true')
    expect(String(res.headers['access-control-allow-methods'])).toMatch(/POST/)
  })

  it('preflight for identify allows the authorization header', async () => {
    const res = await preflight(`${A}/session/x/identify`, 'PATCH', ORIGIN, 'authorization')
    expect(res.statusCode).toBe(204)
    expect(String(res.headers['access-control-allow-headers']).toLowerCase()).toMatch(/authorization/)
  })

  it('a simple text/plain POST to leave (a beacon) from the origin gets access-control-allow-origin', async () => {
    const app = await h.build({ env: { CORS_ORIGINS: ORIGIN } })
    const id = await createSession(app)
    const view = await recordPageView(app, id)
    const res = await app.inject({
      method: 'POST',
      url: `${A}/pageview/${view}/leave`,
      payload: JSON.stringify({ duration: 8 }),
      headers: { origin: ORIGIN, 'content-type': 'text/plain;charset=UTF-8' },
    })
    expectOk(res)
    expect(res.headers['access-control-allow-origin']).toBe(ORIGIN)
    expect(res.headers['access-control-allow-credentials']).toBe('true')
    expect(String(res.headers['access-control-expose-headers'])).toMatch(/x-request-id/)
    expect((await sessionRow(h, id))!.duration).toBe(8)
  })
})
