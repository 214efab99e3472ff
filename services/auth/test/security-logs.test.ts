import { CommonEnv, httpConfigFrom, loadEnv, loggerOptions } from '@bio/service-kit'
import { captureLogs, expectApiHeaders, type LogCapture, lockTable } from '@bio/service-kit/testing'
import type { InjectOptions, LightMyRequestResponse } from 'fastify'
import { beforeAll, describe, expect, it } from 'vitest'
import { buildAuthApp } from '../src/app.js'
import {
  AUTH,
  type AuthApp,
  expectError,
  fastHasher,
  newUser,
  REFRESH_COOKIE_NAME,
  rawRefreshCookie,
  refreshCookieOf,
  TEST_SECRET,
  testConfig,
  useAuthHarness,
} from './helper.js'

/**
 * What auth puts on the wire and in its logs: security headers on every response (errors, 404s
 * and framework errors included), CORS only for the allow-list, the refresh cookie's flags, and
 * logs (the production logger options, at trace level) that are JSON, carry the correlation id
 * on every request line, and never contain a password, a password hash, an access or refresh
 * token, the JWT secret or the database password, not even when the database fails mid-query.
 */

const h = useAuthHarness({ app: false })

/** An app over the harness database (or `url`) logging with the production options at trace level. */
async function loggedApp(cap: LogCapture, env: Record<string, string> = {}, url = h.testDb.url) {
  const config = testConfig({ RATE_LIMIT_ENABLED: 'false', LOG_LEVEL: 'trace', ...env }, url)
  return buildAuthApp({
    config,
    ...(url === h.testDb.url ? { database: h.database } : {}),
    hasher: fastHasher(),
    logger: { ...(loggerOptions(config.http) as object), stream: cap.stream },
  })
}

/** The secrets of a flow, and the pieces of each token (a log line may hold a fragment). */
function secretsOf(values: string[]): string[] {
  const out = new Set<string>()
  for (const value of values) {
    out.add(value)
    for (const part of value.split('.')) if (part.length >= 16) out.add(part)
  }
  return [...out]
}

function expectNoSecrets(cap: LogCapture, secrets: string[]) {
  expect(cap.lines.length).toBeGreaterThan(0)
  for (const line of cap.lines) {
    for (const secret of secrets) {
      expect(
        line.includes(secret),
        `a log line holds a secret (${secret.slice(0, 12)}…): ${line.slice(0, 300)}`,
      ).toBe(false)
    }
    // Nor any argon2 hash.
    expect(line).not.toMatch(/\$argon2(id|i|d)\$/)
  }
}

describe('logs of a register → login → refresh → me → logout flow (trace level)', () => {
  it('are JSON lines with the correlation id on every request line, and hold no secret', async () => {
    const cap = captureLogs()
    const app = await loggedApp(cap)
    const body = newUser({ password: `Pw-${Math.random().toString(36).slice(2)}-Z9` })
    const password = String(body.password)
    const ids: string[] = []
    const send = (options: InjectOptions, step: string): Promise<LightMyRequestResponse> => {
      const id = `flow-${step}-${Math.random().toString(36).slice(2, 10)}`
      ids.push(id)
      const headers = { ...(options.headers as Record<string, string> | undefined), 'x-request-id': id }
      return app.inject({ ...options, headers })
    }

    const reg = await send({ method: 'POST', url: `${AUTH}/register`, payload: body }, 'register')
    expect(reg.statusCode).toBe(201)
    const tokens = [reg.json().data.accessToken as string, refreshCookieOf(reg)!.value]
    const signIn = await send(
      { method: 'POST', url: `${AUTH}/login`, payload: { email: body.email, password } },
      'login',
    )
    expect(signIn.statusCode).toBe(200)
    tokens.push(signIn.json().data.accessToken, refreshCookieOf(signIn)!.value)
    const wrong = await send(
      { method: 'POST', url: `${AUTH}/login`, payload: { email: body.email, password: `${password}x` } },
      'wrong',
    )
    expectError(wrong, 401)
    const rotated = await send(
      { method: 'POST', url: `${AUTH}/refresh`, cookies: { [REFRESH_COOKIE_NAME]: tokens[3]! } },
      'refresh',
    )
    expect(rotated.statusCode).toBe(200)
    tokens.push(rotated.json().data.accessToken, refreshCookieOf(rotated)!.value)
    const viaBody = await send(
      { method: 'POST', url: `${AUTH}/refresh`, payload: { refreshToken: tokens[5]! } },
      'refresh-body',
    )
    expect(viaBody.statusCode).toBe(200)
    tokens.push(viaBody.json().data.accessToken, refreshCookieOf(viaBody)!.value)
    const profile = await send(
      { method: 'GET', url: `${AUTH}/me`, headers: { authorization: `Bearer ${tokens[6]!}` } },
      'me',
    )
    expect(profile.statusCode).toBe(200)
    // Malformed and invalid bodies that carry the password, and a replayed (reused) refresh token.
    await send(
      {
        method: 'POST',
        url: `${AUTH}/login`,
        payload: `{"email":"${body.email}","password":"${password}"`,
        headers: { 'content-type': 'application/json' },
      },
      'malformed',
    )
    await send(
      { method: 'POST', url: `${AUTH}/login`, payload: { email: body.email, password, extra: password } },
      'invalid',
    )
    await new Promise((r) => setTimeout(r, 20))
    const app2 = await loggedApp(cap, { REFRESH_REUSE_GRACE_S: '0' })
    const reuse = await app2.inject({
      method: 'POST',
      url: `${AUTH}/refresh`,
      cookies: { [REFRESH_COOKIE_NAME]: tokens[3]! },
      headers: { 'x-request-id': 'flow-reuse-0001' },
    })
    ids.push('flow-reuse-0001')
    expectError(reuse, 401, 'REFRESH_TOKEN_REUSED')
    const out = await send(
      { method: 'POST', url: `${AUTH}/logout`, cookies: { [REFRESH_COOKIE_NAME]: tokens[7]! } },
      'logout',
    )
    expect(out.statusCode).toBe(200)
    await app.close()
    await app2.close()

    expectNoSecrets(cap, secretsOf([password, TEST_SECRET, ...tokens]))

    const lines = cap.json()
    // Trace level really was on (Fastify logs routing at trace/debug; requests at info).
    expect(lines.some((l) => (l.level as number) < 30)).toBe(true)
    // Every line about a request names it: each request's lines carry its id.
    for (const line of lines.filter((l) => 'req' in l || 'res' in l || 'err' in l)) {
      expect(ids, JSON.stringify(line)).toContain(line.correlationId)
    }
    for (const id of ids) {
      const mine = lines.filter((l) => l.correlationId === id)
      expect(
        mine.map((l) => l.msg),
        id,
      ).toEqual(expect.arrayContaining(['incoming request', 'request completed']))
    }
    // So does what the domain logs while serving a request.
    const reuseLine = lines.find((l) => String(l.msg).includes('reuse detected'))
    expect(reuseLine, 'the reuse warning').toBeDefined()
    expect(reuseLine!.correlationId).toBe('flow-reuse-0001')
  })

  it('a database failing mid-query leaks neither the password hash nor the DB password into the logs', async () => {
    const cap = captureLogs()
    const url = new URL(h.testDb.url)
    url.password = 'Db-Pa55word-n0t-for-logs'
    const app = await loggedApp(cap, { DB_STATEMENT_TIMEOUT_MS: '200' }, url.toString())
    const body = newUser({ password: `Pw-${Math.random().toString(36).slice(2)}-Q7` })
    const lock = await lockTable(h.testDb.url, 'users')
    try {
      // The INSERT (whose parameters hold the argon2 hash) and the login lookup time out: 503.
      expectError(await app.inject({ method: 'POST', url: `${AUTH}/register`, payload: body }), 503)
      expectError(
        await app.inject({
          method: 'POST',
          url: `${AUTH}/login`,
          payload: { email: body.email, password: body.password },
        }),
        503,
      )
    } finally {
      await lock.release()
    }
    // And with the database unreachable.
    const down = await loggedApp(cap, {}, 'postgres://postgres:Db-Pa55word-n0t-for-logs@127.0.0.1:1/none')
    expectError(await down.inject({ method: 'POST', url: `${AUTH}/register`, payload: body }), 503)
    await down.close()
    await app.close()

    const failures = cap.json().filter((l) => l.err)
    expect(failures.length).toBeGreaterThanOrEqual(3)
    // Still useful: the failure and its cause are there...
    expect(JSON.stringify(failures)).toMatch(/statement timeout/)
    // ...but no secret is.
    expectNoSecrets(cap, [String(body.password), 'Db-Pa55word-n0t-for-logs', TEST_SECRET])
  })
})

describe('pino-pretty only in development', () => {
  const http = (NODE_ENV: string) =>
    httpConfigFrom(loadEnv(CommonEnv, { NODE_ENV, JWT_SECRET: TEST_SECRET }), 1)

  it('production and test logs are plain JSON whatever the terminal; development in a TTY is pretty', () => {
    const tty = Object.getOwnPropertyDescriptor(process.stdout, 'isTTY')
    try {
      for (const isTTY of [true, false]) {
        Object.defineProperty(process.stdout, 'isTTY', { value: isTTY, configurable: true })
        for (const env of ['production', 'test']) {
          expect(http(env).pretty, `${env}, tty=${isTTY}`).toBe(false)
          expect(JSON.stringify(loggerOptions(http(env)))).not.toContain('pino-pretty')
        }
        expect(http('development').pretty).toBe(isTTY)
        expect(JSON.stringify(loggerOptions(http('development'))).includes('pino-pretty')).toBe(isTTY)
      }
    } finally {
      if (tty) Object.defineProperty(process.stdout, 'isTTY', tty)
      else delete (process.stdout as { isTTY?: boolean }).isTTY
    }
  })
})

describe('security headers on every response', () => {
  let app: AuthApp
  beforeAll(async () => {
    app = await h.build({ env: { CORS_ORIGINS: 'https://app.example' } })
  })

  const cases: [string, () => Promise<LightMyRequestResponse>][] = [
    ['201 register', () => app.inject({ method: 'POST', url: `${AUTH}/register`, payload: newUser() })],
    ['401 /me', () => app.inject({ method: 'GET', url: `${AUTH}/me` })],
    [
      '413',
      () =>
        app.inject({
          method: 'POST',
          url: `${AUTH}/login`,
          payload: JSON.stringify({ pad: 'x'.repeat(20_000) }),
          headers: { 'content-type': 'application/json' },
        }),
    ],
  ]

  it.each(cases)('%s', async (_name, send) => {
    const res = await send()
    expect(res.statusCode).toBeLessThan(500)
    expectApiHeaders(res, 'same-site')
  })
})

describe('the refresh cookie', () => {
  it('COOKIE_SECURE and COOKIE_DOMAIN: Secure; Domain on set and on clear, with HttpOnly, SameSite=Strict, the auth path', async () => {
    const app = await h.build({ env: { COOKIE_SECURE: 'true', COOKIE_DOMAIN: '.bio.example' } })
    const reg = await app.inject({ method: 'POST', url: `${AUTH}/register`, payload: newUser() })
    const set = rawRefreshCookie(reg)!
    const out = await app.inject({
      method: 'POST',
      url: `${AUTH}/logout`,
      cookies: { [REFRESH_COOKIE_NAME]: refreshCookieOf(reg)!.value },
    })
    const cleared = rawRefreshCookie(out)!
    for (const raw of [set, cleared]) {
      expect(raw).toMatch(/; Secure(;|$)/)
      expect(raw).toMatch(/; HttpOnly(;|$)/)
      expect(raw).toMatch(/; SameSite=Strict(;|$)/)
      expect(raw).toMatch(/; Path=\/api\/v1\/auth(;|$)/)
      expect(raw).toMatch(/; Domain=\.bio\.example(;|$)/)
    }
    expect(cleared).toMatch(/Max-Age=0(;|$)|Expires=Thu, 01 Jan 1970/)
    // The token never travels in a URL or a header other than Set-Cookie.
    expect(reg.body).not.toContain(refreshCookieOf(reg)!.value)
  })

  it('NODE_ENV=production makes it Secure by default', async () => {
    const app = await buildAuthApp({
      config: testConfig(
        { NODE_ENV: 'production', RATE_LIMIT_ENABLED: 'false', SMTP_URL: 'smtp://127.0.0.1:9' },
        h.testDb.url,
      ),
      database: h.database,
      hasher: fastHasher(),
      logger: false,
    })
    const reg = await app.inject({ method: 'POST', url: `${AUTH}/register`, payload: newUser() })
    expect(rawRefreshCookie(reg)).toMatch(/; Secure(;|$)/)
    await app.close()
  })
})
