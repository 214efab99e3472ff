import type { LightMyRequestResponse } from 'fastify'
import { describe, expect, it } from 'vitest'
import { apiSecurityHeaders, expectApiHeaders, expectError, UUID_RE } from '../src/testing/index.js'
import { conventionsApp } from './service-app.js'
import { useBareApp } from './use-bare-app.js'

/**
 * Correlation ids and security headers, as every service inherits them from createServiceApp:
 * tested once here on a small app, for success, each kind of error and a CORS preflight.
 */

const app = useBareApp(() =>
  conventionsApp({ env: { CORS_ORIGINS: 'https://app.example', RATE_LIMITS: 'limited=1/1h' } }),
)
const bad = (headers: Record<string, string>) =>
  app().inject({ method: 'POST', url: '/things', payload: {}, headers })

describe('correlation ids', () => {
  it.each([
    'req-12345678',
    'abc:def.ghi_jkl-0',
    'trace-abc_123.x:y',
    'A'.repeat(128),
    '0f8fad5b-d9cb-469f-a165-70867728950e',
  ])('echoes a sane x-request-id (%s) in the header, on success and in error bodies', async (id) => {
    const ok = await app().inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': id } })
    expect(ok.statusCode).toBe(200)
    expect(ok.headers['x-request-id']).toBe(id)
    const res = await bad({ 'x-request-id': id })
    expect(res.headers['x-request-id']).toBe(id)
    expect(expectError(res, 400).correlationId).toBe(id)
  })

  it.each([
    ['spaces', 'has spaces in it'],
    ['500 characters', 'a'.repeat(500)],
    ['too short', 'abc'],
    ['short', 'short'],
    ['129 characters', 'A'.repeat(129)],
    ['markup', '<script>alert(1)</script>'],
    ['a log-forging attempt', 'abcdefgh\\nlevel=error'],
    ['non-ASCII', 'ідентифікатор-123'],
  ])(
    'replaces an insane x-request-id (%s) with a fresh UUID, used in the error body too',
    async (_name, id) => {
      const res = await bad({ 'x-request-id': id })
      const given = res.headers['x-request-id']
      expect(given).not.toBe(id)
      expect(given).toMatch(UUID_RE)
      expect(expectError(res, 400).correlationId).toBe(given)
    },
  )

  it('generates a different UUID per request when none is sent', async () => {
    const a = await app().inject({ method: 'GET', url: '/healthz' })
    const b = await app().inject({ method: 'GET', url: '/healthz' })
    expect(a.headers['x-request-id']).toMatch(UUID_RE)
    expect(b.headers['x-request-id']).toMatch(UUID_RE)
    expect(a.headers['x-request-id']).not.toBe(b.headers['x-request-id'])
  })
})

describe('security headers on every answer', () => {
  const json = { 'content-type': 'application/json' }
  const cases: [string, () => Promise<LightMyRequestResponse>][] = [
    ['200', () => app().inject({ method: 'POST', url: '/things', payload: { name: 'a' } })],
    ['200 /healthz', () => app().inject({ method: 'GET', url: '/healthz' })],
    ['400 validation', () => bad({})],
    [
      '400 malformed JSON',
      () => app().inject({ method: 'POST', url: '/things', payload: '{', headers: json }),
    ],
    ['404', () => app().inject({ method: 'GET', url: '/nope' })],
    ['405', () => app().inject({ method: 'GET', url: '/things' })],
    ['413', () => app().inject({ method: 'POST', url: '/things', payload: { name: 'x'.repeat(100) } })],
    [
      '415',
      () =>
        app().inject({
          method: 'POST',
          url: '/things',
          payload: '<x/>',
          headers: { 'content-type': 'application/xml' },
        }),
    ],
    [
      '429',
      async () => {
        await app().inject({ url: '/limited' })
        return app().inject({ url: '/limited' })
      },
    ],
    ['500', () => app().inject({ method: 'GET', url: '/boom' })],
    ['400 bad %-escape (framework error)', () => app().inject({ method: 'GET', url: '/things/%E0%A4%A' })],
    [
      '414 path parameter over 200 characters (framework error)',
      () => app().inject({ url: `/things/${'a'.repeat(300)}` }),
    ],
    [
      '204 CORS preflight',
      () =>
        app().inject({
          method: 'OPTIONS',
          url: '/things',
          headers: { origin: 'https://app.example', 'access-control-request-method': 'POST' },
        }),
    ],
    ['200 /openapi.json', () => app().inject({ method: 'GET', url: '/openapi.json' })],
    ['404 /metrics (never on the API port)', () => app().inject({ method: 'GET', url: '/metrics' })],
  ]

  it.each(cases)('%s', async (_name, send) => {
    const res = await send()
    expect(res.statusCode).toBe(Number(_name.slice(0, 3)))
    expectApiHeaders(res, 'same-site')
  })

  it.each(['/docs/', '/docs/static/oauth2-redirect.html'])(
    'the HTML document %s gets its own CSP and the document headers',
    async (url) => {
      const res = await app().inject({ method: 'GET', url })
      expect(res.statusCode).toBe(200)
      expect(res.headers['content-type']).toMatch(/^text\/html/)
      expect(res.headers['content-security-policy']).toMatch(/^default-src 'self'/)
      expect(res.headers['cross-origin-opener-policy']).toBe('same-origin')
      expect(res.headers['origin-agent-cluster']).toBe('?1')
      expect(res.headers['x-frame-options']).toBe('DENY')
      expect(res.headers['x-content-type-options']).toBe('nosniff')
    },
  )

  it('a service that is embedded by other sites gets cross-origin-resource-policy: cross-origin', async () => {
    const embedded = await conventionsApp({ resourcePolicy: 'cross-origin' })
    try {
      for (const url of ['/healthz', '/nope', '/boom']) {
        expect((await embedded.inject({ url })).headers).toMatchObject(apiSecurityHeaders('cross-origin'))
      }
    } finally {
      await embedded.close()
    }
  })
})
