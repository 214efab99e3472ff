import type { LightMyRequestResponse } from 'fastify'
import { describe, expect, it } from 'vitest'
import { buildAuthApp } from '../src/app.js'
import {
  AUTH,
  expectError,
  fastHasher,
  login,
  newUser,
  registerUser,
  testConfig,
  useAuthHarness,
} from './helper.js'

const h = useAuthHarness()

describe('404 and 405', () => {
  it.each([
    ['GET', `${AUTH}/nope`],
    ['POST', '/api/v1/auth'],
    ['GET', '/api/v1/analytics/session'],
  ] as const)('%s %s → 404 NOT_FOUND envelope', async (method, url) => {
    expectError(await h.app.inject({ method, url }), 404, 'NOT_FOUND', 'common.not_found')
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
    const res = await h.app.inject({ method, url })
    expectError(res, 405, 'METHOD_NOT_ALLOWED', 'common.method_not_allowed')
    expect(res.headers.allow).toBe(allow)
  })
})

describe('rate limiting', () => {
  it('RATE_LIMITS=login=2/1h: the third login is 429 RATE_LIMITED with retry-after and ratelimit-* headers', async () => {
    const limited = await h.build({ env: { RATE_LIMIT_ENABLED: 'true', RATE_LIMITS: 'login=2/1h' } })
    const user = await registerUser(h.app)
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
})

describe('health', () => {
  it('/readyz → 200 { status: ready } while the database answers', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/readyz' })
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
    const res = await h.app.inject({ method: 'GET', url: '/openapi.json' })
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
    const user = await registerUser(h.app)
    expect(user.res.headers['cache-control']).toBe('no-store')
    const bad = await login(h.app, user.email, 'Wrong-Password1')
    expect(bad.headers['cache-control']).toBe('no-store')
  })
})
