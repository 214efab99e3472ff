import { describe, expect, it } from 'vitest'
import type { App } from '../src/index.js'
import { expectError } from '../src/testing/index.js'
import { conventionsApp } from './service-app.js'
import { useBareApp } from './use-bare-app.js'

/** CORS and rate limiting, as every service inherits them from createServiceApp: tested once here. */

const ORIGIN = 'https://app.example'
const SECOND_ORIGIN = 'https://admin.example'

describe('CORS (CORS_ORIGINS=https://app.example,https://admin.example)', () => {
  const app = useBareApp(() => conventionsApp({ env: { CORS_ORIGINS: `${ORIGIN},${SECOND_ORIGIN}` } }))
  const preflight = (target: App, origin: string, headers = 'content-type', method = 'POST') =>
    target.inject({
      method: 'OPTIONS',
      url: '/things',
      headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': headers },
    })

  it('answers a preflight from the allowed origin: 204, origin, credentials, methods, headers, Vary', async () => {
    const res = await preflight(app(), ORIGIN)
    expect(res.statusCode).toBe(204)
    expect(res.headers['access-control-allow-origin']).toBe(ORIGIN)
    expect(res.headers['access-control-allow-credentials']).toBe('true')
    expect(String(res.headers['access-control-allow-methods'])).toContain('POST')
    expect(String(res.headers['access-control-allow-methods'])).toContain('PATCH')
    expect(String(res.headers['access-control-allow-headers']).toLowerCase()).toContain('content-type')
    expect(String(res.headers.vary)).toMatch(/Origin/i)
  })

  it('allows the authorization header on a preflight', async () => {
    const res = await preflight(app(), ORIGIN, 'authorization', 'PATCH')
    expect(res.statusCode).toBe(204)
    expect(String(res.headers['access-control-allow-headers']).toLowerCase()).toContain('authorization')
  })

  it('exposes x-request-id and the rate-limit headers to the allowed origin on actual requests', async () => {
    const res = await app().inject({ method: 'GET', url: '/things/1', headers: { origin: ORIGIN } })
    expect(res.headers['access-control-allow-origin']).toBe(ORIGIN)
    expect(res.headers['access-control-allow-credentials']).toBe('true')
    const exposed = String(res.headers['access-control-expose-headers'])
    for (const header of ['x-request-id', 'retry-after', 'ratelimit-limit', 'ratelimit-remaining']) {
      expect(exposed).toContain(header)
    }
  })

  it('allows each listed origin, on answers and on errors, with Vary: Origin', async () => {
    for (const origin of [ORIGIN, SECOND_ORIGIN]) {
      for (const url of ['/things/1', '/nope']) {
        const res = await app().inject({ method: 'GET', url, headers: { origin } })
        expect(res.headers['access-control-allow-origin'], url).toBe(origin)
        expect(res.headers['access-control-allow-credentials']).toBe('true')
        expect(String(res.headers.vary)).toMatch(/origin/i)
      }
    }
  })

  it('gives no allow-origin to another or look-alike origin: on preflights, answers and errors', async () => {
    const others = [
      'https://evil.example',
      'null',
      'http://app.example',
      'https://app.example.evil',
      'https://app.example.evil.com',
      'https://sub.app.example',
      'https://xapp.example',
      '*',
    ]
    for (const origin of others) {
      for (const res of [
        await preflight(app(), origin),
        await app().inject({ method: 'POST', url: '/things', payload: { name: 'a' }, headers: { origin } }),
        await app().inject({ method: 'POST', url: '/things', payload: {}, headers: { origin } }),
        await app().inject({ method: 'GET', url: '/nope', headers: { origin } }),
      ]) {
        expect(res.headers['access-control-allow-origin'], origin).toBeUndefined()
      }
    }
  })
})

describe('CORS without CORS_ORIGINS', () => {
  const app = useBareApp(() => conventionsApp())

  it('sends no CORS headers at all, to any origin', async () => {
    const res = await app().inject({
      method: 'OPTIONS',
      url: '/things',
      headers: { origin: ORIGIN, 'access-control-request-method': 'POST' },
    })
    expect(res.headers['access-control-allow-origin']).toBeUndefined()
    expect(res.headers['access-control-allow-credentials']).toBeUndefined()
  })
})

describe('rate limits', () => {
  const app = useBareApp(() => conventionsApp({ env: { RATE_LIMITS: 'other-limited=3/1m' } }))
  const hit = (url: string, ip: string) => app().inject({ method: 'GET', url, remoteAddress: ip })

  it('counts down in ratelimit-* headers, then 429 with retry-after within the window', async () => {
    const answers = [await hit('/limited', '192.0.2.1'), await hit('/limited', '192.0.2.1')]
    expect(answers.map((r) => r.statusCode)).toEqual([200, 200])
    expect(answers.map((r) => r.headers['ratelimit-limit'])).toEqual(['2', '2'])
    expect(answers.map((r) => r.headers['ratelimit-remaining'])).toEqual(['1', '0'])
    const third = await hit('/limited', '192.0.2.1')
    const error = expectError(third, 429, 'RATE_LIMITED', 'common.rate_limited')
    const retryAfter = Number(third.headers['retry-after'])
    expect(retryAfter).toBeGreaterThan(3500)
    expect(retryAfter).toBeLessThanOrEqual(3600)
    expect(error.i18nVars?.retryAfterSeconds).toBe(retryAfter)
    expect(third.headers['ratelimit-limit']).toBe('2')
    expect(third.headers['ratelimit-remaining']).toBe('0')
  })

  it('keeps a counter per operation and per client, and RATE_LIMITS overrides an operation', async () => {
    for (let i = 0; i < 2; i++) expect((await hit('/limited', '192.0.2.2')).statusCode).toBe(200)
    expect((await hit('/limited', '192.0.2.2')).statusCode).toBe(429)
    expect((await hit('/limited', '192.0.2.3')).statusCode).toBe(200)
    const other = await hit('/other-limited', '192.0.2.2')
    expect(other.statusCode).toBe(200)
    expect(other.headers['ratelimit-limit']).toBe('3')
    expect(Number(other.headers['ratelimit-reset'])).toBeLessThanOrEqual(60)
  })

  it('a RATE_LIMITS entry naming no operation stops the app from starting (a typo is not ignored)', async () => {
    const typo = await conventionsApp({ env: { RATE_LIMITS: 'limted=2/1h' } })
    await expect(typo.ready()).rejects.toThrow(/RATE_LIMITS: no route named limted/)
    await typo.close()
  })

  it('is off with RATE_LIMIT_ENABLED=false: no limit, no ratelimit-* headers', async () => {
    const off = await conventionsApp({ env: { RATE_LIMIT_ENABLED: 'false' } })
    try {
      for (let i = 0; i < 4; i++) {
        const res = await off.inject({ url: '/limited' })
        expect(res.statusCode).toBe(200)
        expect(res.headers['ratelimit-limit']).toBeUndefined()
      }
    } finally {
      await off.close()
    }
  })
})
