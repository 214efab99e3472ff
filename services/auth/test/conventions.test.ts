import { UUID_RE } from '@bio/service-kit/testing'
import type { LightMyRequestResponse } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildAuthApp } from '../src/app.js'
import {
  AUTH,
  type AuthApp,
  type AuthHarness,
  authHarness,
  expectError,
  fastHasher,
  login,
  newUser,
  registerUser,
  testConfig,
} from './helper.js'

let h: AuthHarness
let app: AuthApp

beforeAll(async () => {
  h = await authHarness()
  app = await h.build()
})
afterAll(async () => {
  await h?.close()
})

describe('correlation ids', () => {
  it.each(['req-12345678', 'abc:def.ghi_jkl-0', 'A'.repeat(128), '0f8fad5b-d9cb-469f-a165-70867728950e'])(
    'echoes a sane x-request-id (%s) in the header and in error bodies',
    async (id) => {
      const ok = await app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': id } })
      expect(ok.headers['x-request-id']).toBe(id)
      const res = await login(app, 'nobody@example.com', 'Whatever1', { 'x-request-id': id })
      expect(res.headers['x-request-id']).toBe(id)
      expect(expectError(res, 401).correlationId).toBe(id)
    },
  )

  it.each([
    ['spaces', 'has spaces in it'],
    ['500 characters', 'a'.repeat(500)],
    ['too short', 'abc'],
    ['129 characters', 'A'.repeat(129)],
    ['markup', '<script>alert(1)</script>'],
    ['a log-forging attempt', 'abcdefgh\\nlevel=error'],
    ['non-ASCII', 'ідентифікатор-123'],
  ])(
    'replaces an insane x-request-id (%s) with a fresh UUID, used in the error body too',
    async (_name, id) => {
      const res = await login(app, 'nobody@example.com', 'Whatever1', { 'x-request-id': id })
      const given = res.headers['x-request-id']
      expect(given).not.toBe(id)
      expect(given).toMatch(UUID_RE)
      expect(expectError(res, 401).correlationId).toBe(given)
    },
  )

  it('generates a different id per request when none is sent', async () => {
    const a = await app.inject({ method: 'GET', url: '/healthz' })
    const b = await app.inject({ method: 'GET', url: '/healthz' })
    expect(a.headers['x-request-id']).toMatch(UUID_RE)
    expect(b.headers['x-request-id']).toMatch(UUID_RE)
    expect(a.headers['x-request-id']).not.toBe(b.headers['x-request-id'])
  })
})

describe('404 and 405', () => {
  it.each([
    ['GET', '/nope'],
    ['GET', `${AUTH}/nope`],
    ['POST', '/api/v1/auth'],
    ['GET', '/api/v1/analytics/session'],
  ] as const)('%s %s → 404 NOT_FOUND envelope', async (method, url) => {
    expectError(await app.inject({ method, url }), 404, 'NOT_FOUND', 'common.not_found')
  })

  it.each([
    ['GET', `${AUTH}/login`, 'POST'],
    ['PUT', `${AUTH}/register`, 'POST'],
    ['DELETE', `${AUTH}/logout`, 'POST'],
    ['PATCH', `${AUTH}/refresh`, 'POST'],
    ['POST', `${AUTH}/me`, 'GET'],
    ['DELETE', `${AUTH}/me?x=1`, 'GET'],
    ['POST', '/healthz', 'GET'],
  ] as const)('%s %s → 405 METHOD_NOT_ALLOWED with Allow: %s', async (method, url, allow) => {
    const res = await app.inject({ method, url })
    expectError(res, 405, 'METHOD_NOT_ALLOWED', 'common.method_not_allowed')
    expect(res.headers.allow).toBe(allow)
  })
})

describe('rate limiting', () => {
  it('RATE_LIMITS=login=2/1h: the third login is 429 RATE_LIMITED with retry-after and ratelimit-* headers', async () => {
    const limited = await h.build({ env: { RATE_LIMIT_ENABLED: 'true', RATE_LIMITS: 'login=2/1h' } })
    const user = await registerUser(app)
    const first = await login(limited, user.email, user.password)
    expect(first.statusCode).toBe(200)
    expect(first.headers['ratelimit-limit']).toBe('2')
    expect(first.headers['ratelimit-remaining']).toBe('1')
    const second = await login(limited, user.email, 'Wrong-Password1')
    expect(second.statusCode).toBe(401)
    expect(second.headers['ratelimit-remaining']).toBe('0')

    const third = await login(limited, user.email, user.password)
    const error = expectError(third, 429, 'RATE_LIMITED', 'common.rate_limited')
    expect(Number(third.headers['retry-after'])).toBeGreaterThan(3500)
    expect(Number(third.headers['retry-after'])).toBeLessThanOrEqual(3600)
    expect(third.headers['ratelimit-limit']).toBe('2')
    expect(third.headers['ratelimit-remaining']).toBe('0')
    expect(error.i18nVars?.retryAfterSeconds).toBe(Number(third.headers['retry-after']))
    expect(third.headers['cache-control']).toBe('no-store')

    // Other routes keep their own budgets.
    const reg = await limited.inject({ method: 'POST', url: `${AUTH}/register`, payload: newUser() })
    expect(reg.statusCode).toBe(201)
  })

  it('a RATE_LIMITS entry naming no route stops the app from starting (a typo is not ignored)', async () => {
    const typo = await h.build({ env: { RATE_LIMIT_ENABLED: 'true', RATE_LIMITS: 'logn=2/1h' } })
    await expect(typo.ready()).rejects.toThrow(/RATE_LIMITS: no route named logn/)
  })

  it('applies the contract limits by default (register 10/h, login 20/h, refresh/logout/me 60/h)', async () => {
    const limited = await h.build({ env: { RATE_LIMIT_ENABLED: 'true' } })
    const user = await registerUser(limited)
    const checks: [string, string, LightMyRequestResponse][] = [
      ['register', '10', user.res],
      ['login', '20', await login(limited, user.email, user.password)],
      ['refresh', '60', await limited.inject({ method: 'POST', url: `${AUTH}/refresh` })],
      ['logout', '60', await limited.inject({ method: 'POST', url: `${AUTH}/logout` })],
      [
        'me',
        '60',
        await limited.inject({
          method: 'GET',
          url: `${AUTH}/me`,
          headers: { authorization: `Bearer ${user.accessToken}` },
        }),
      ],
    ]
    for (const [name, limit, res] of checks) expect(res.headers['ratelimit-limit'], name).toBe(limit)
  })

  it('HEAD /me and GET /me count against one allowance (RATE_LIMITS=me=3/1h)', async () => {
    const limited = await h.build({ env: { RATE_LIMIT_ENABLED: 'true', RATE_LIMITS: 'me=3/1h' } })
    const user = await registerUser(limited)
    const me = (method: 'GET' | 'HEAD') =>
      limited.inject({ method, url: `${AUTH}/me`, headers: { authorization: `Bearer ${user.accessToken}` } })
    const answers = [await me('GET'), await me('HEAD'), await me('GET'), await me('HEAD')]
    expect(answers.map((r) => r.statusCode)).toEqual([200, 200, 200, 429])
    expect(answers.map((r) => r.headers['ratelimit-remaining'])).toEqual(['2', '1', '0', '0'])
    expect((await me('GET')).statusCode).toBe(429)
  })

  it('is off when RATE_LIMIT_ENABLED=false (the harness default)', async () => {
    for (let i = 0; i < 22; i++) {
      const res = await login(app, 'nobody@example.com', 'Whatever1')
      expect(res.statusCode).toBe(401)
      expect(res.headers['ratelimit-limit']).toBeUndefined()
    }
  })
})

describe('CORS', () => {
  let cors: AuthApp
  beforeAll(async () => {
    cors = await h.build({ env: { CORS_ORIGINS: 'https://app.example' } })
  })

  const preflight = (target: AuthApp, origin: string) =>
    target.inject({
      method: 'OPTIONS',
      url: `${AUTH}/login`,
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    })

  it('answers a preflight from an allowed origin with allow-origin and allow-credentials', async () => {
    const res = await preflight(cors, 'https://app.example')
    expect(res.statusCode).toBe(204)
    expect(res.headers['access-control-allow-origin']).toBe('https://app.example')
    expect(res.headers['access-control-allow-credentials']).toBe('true')
    expect(String(res.headers['access-control-allow-methods'])).toContain('POST')
    expect(String(res.headers['access-control-allow-headers'])).toContain('content-type')
    expect(String(res.headers.vary)).toMatch(/Origin/i)
  })

  it('gives no allow-origin to another origin, on preflight or actual requests', async () => {
    const res = await preflight(cors, 'https://evil.example')
    expect(res.headers['access-control-allow-origin']).toBeUndefined()
    const actual = await cors.inject({
      method: 'POST',
      url: `${AUTH}/logout`,
      headers: { origin: 'https://evil.example' },
    })
    expect(actual.headers['access-control-allow-origin']).toBeUndefined()
    // Near-misses of the allowed origin are other origins too.
    for (const origin of ['http://app.example', 'https://app.example.evil', 'https://sub.app.example']) {
      expect((await preflight(cors, origin)).headers['access-control-allow-origin'], origin).toBeUndefined()
    }
  })

  it('exposes x-request-id and the rate-limit headers to the allowed origin', async () => {
    const res = await cors.inject({
      method: 'POST',
      url: `${AUTH}/logout`,
      headers: { origin: 'https://app.example' },
    })
    expect(res.headers['access-control-allow-origin']).toBe('https://app.example')
    const exposed = String(res.headers['access-control-expose-headers'])
    for (const header of ['x-request-id', 'retry-after', 'ratelimit-limit', 'ratelimit-remaining']) {
      expect(exposed).toContain(header)
    }
  })

  it('sends no CORS headers at all without CORS_ORIGINS', async () => {
    const res = await preflight(app, 'https://app.example')
    expect(res.headers['access-control-allow-origin']).toBeUndefined()
    expect(res.headers['access-control-allow-credentials']).toBeUndefined()
  })
})

describe('health', () => {
  it('/healthz → 200 { status: ok }', async () => {
    const res = await app.inject({ method: 'GET', url: '/healthz' })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({ success: true, data: { status: 'ok' } })
  })

  it('/readyz → 200 { status: ready } while the database answers', async () => {
    const res = await app.inject({ method: 'GET', url: '/readyz' })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({ success: true, data: { status: 'ready' } })
  })

  it('an unreachable database: /readyz and the routes answer 503 SERVICE_UNAVAILABLE, /healthz stays 200', async () => {
    const down = await buildAuthApp({
      config: testConfig(
        { RATE_LIMIT_ENABLED: 'false', DB_CONNECT_TIMEOUT_S: '1' },
        'postgres://postgres@127.0.0.1:1/none',
      ),
      hasher: fastHasher(),
      logger: false,
    })
    try {
      expect((await down.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200)
      const ready = await down.inject({ method: 'GET', url: '/readyz' })
      expectError(ready, 503, 'SERVICE_UNAVAILABLE', 'common.service_unavailable')
      expect(ready.headers['retry-after']).toBe('5')
      expectError(await login(down, 'someone@example.com', 'Whatever1'), 503, 'SERVICE_UNAVAILABLE')
      const reg = await down.inject({ method: 'POST', url: `${AUTH}/register`, payload: newUser() })
      const error = expectError(reg, 503, 'SERVICE_UNAVAILABLE')
      // Nothing about the driver or the connection reaches the client.
      expect(JSON.stringify(error)).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|postgres/i)
    } finally {
      await down.close()
    }
  })
})

describe('OpenAPI', () => {
  interface Operation {
    operationId?: string
    tags?: string[]
    summary?: string
    security?: unknown[]
    requestBody?: unknown
    responses?: Record<
      string,
      { content?: Record<string, { schema?: { properties?: Record<string, unknown> } }> }
    >
  }

  const operations = async () => {
    const res = await app.inject({ method: 'GET', url: '/openapi.json' })
    expect(res.statusCode).toBe(200)
    const doc = res.json() as { openapi: string; paths: Record<string, Record<string, Operation>> }
    const ops = Object.entries(doc.paths)
      .filter(([path]) => path.startsWith('/api/v1/'))
      .flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ path, method, op })))
    return { doc, ops }
  }

  it('is OpenAPI 3.1 and lists the auth operations', async () => {
    const { doc, ops } = await operations()
    expect(doc.openapi).toMatch(/^3\.1\./)
    expect(ops.map((o) => `${o.method} ${o.path}`).sort()).toEqual([
      `delete ${AUTH}/sessions/{id}`,
      `get ${AUTH}/me`,
      `get ${AUTH}/sessions`,
      `post ${AUTH}/change-password`,
      `post ${AUTH}/forgot-password`,
      `post ${AUTH}/login`,
      `post ${AUTH}/logout`,
      `post ${AUTH}/refresh`,
      `post ${AUTH}/register`,
      `post ${AUTH}/resend-verification`,
      `post ${AUTH}/reset-password`,
      `post ${AUTH}/sessions/revoke-all`,
      `post ${AUTH}/verify-email`,
    ])
  })

  it('gives every /api/v1 operation a unique operationId, tags and a summary', async () => {
    const { ops } = await operations()
    const ids = ops.map((o) => o.op.operationId)
    for (const { path, op } of ops) {
      expect(op.operationId, path).toMatch(/^[a-z][A-Za-z]+$/)
      expect(op.tags?.length, path).toBeGreaterThan(0)
      expect(op.summary?.length, path).toBeGreaterThan(0)
    }
    expect(new Set(ids).size).toBe(ids.length)
  })

  it('declares the error envelope for each operation’s error statuses', async () => {
    const { ops } = await operations()
    const expected: Record<string, string[]> = {
      register: ['400', '403', '409', '413', '415', '429'],
      login: ['400', '401', '413', '415', '429'],
      refresh: ['400', '401', '413', '415', '429'],
      logout: ['400', '413', '415', '429'],
      me: ['401', '429'],
      verifyEmail: ['400', '413', '415', '429'],
      resendVerification: ['400', '413', '415', '429'],
      forgotPassword: ['400', '413', '415', '429'],
      resetPassword: ['400', '413', '415', '429'],
      changePassword: ['400', '401', '413', '415', '429'],
      listSessions: ['401', '429'],
      revokeSession: ['400', '401', '404', '429'],
      revokeOtherSessions: ['401', '429'],
    }
    for (const { op } of ops) {
      const statuses = Object.keys(op.responses ?? {})
      expect(statuses, op.operationId).toEqual(expect.arrayContaining(expected[op.operationId!]!))
      for (const status of statuses.filter((s) => s.startsWith('4') || s.startsWith('5'))) {
        const schema = op.responses![status]!.content?.['application/json']?.schema
        expect(Object.keys(schema?.properties ?? {}).sort(), `${op.operationId} ${status}`).toEqual([
          'error',
          'success',
        ])
      }
      expect(
        statuses.some((s) => s.startsWith('2')),
        op.operationId,
      ).toBe(true)
    }
  })

  it('marks /me as bearer-secured and documents request bodies of the POST routes', async () => {
    const { ops } = await operations()
    const byId = Object.fromEntries(ops.map((o) => [o.op.operationId, o.op]))
    expect(byId.me!.security).toEqual([{ bearerAuth: [] }])
    for (const id of ['register', 'login', 'refresh', 'logout'])
      expect(byId[id]!.requestBody, id).toBeDefined()
  })
})

describe('response headers', () => {
  it('auth answers are never cached: cache-control no-store on success and error', async () => {
    const user = await registerUser(app)
    expect(user.res.headers['cache-control']).toBe('no-store')
    const bad = await login(app, user.email, 'Wrong-Password1')
    expect(bad.headers['cache-control']).toBe('no-store')
  })
})
