import { randomUUID } from 'node:crypto'
import { HOSTILE_STRINGS, hostileInput } from '@bio/service-kit/testing'
import { sql } from 'drizzle-orm'
import fc from 'fast-check'
import type { InjectOptions } from 'fastify'
import { beforeAll, describe, expect, it } from 'vitest'
import {
  AUTH,
  expectError,
  login,
  newUser,
  REFRESH_COOKIE_NAME,
  refreshCookieOf,
  registerUser,
  useAuthHarness,
} from './helper.js'

/**
 * Property-based hostile input on every auth route (fast-check): random and malicious bodies
 * (wrong types, deep nesting, huge strings, invalid UTF-8 bytes, `__proto__`/`constructor` keys,
 * SQL fragments, NaN/1e309/-0, duplicate keys), headers, query strings and methods. Every answer
 * is a 2xx or a 4xx in the envelope, never a 5xx; the database only grows by the successes
 * (a user per 201 register, a refresh session per issued token pair); no prototype is polluted.
 */

let known: { email: string; password: string }

const h = useAuthHarness({
  app: { env: { LOGIN_LOCK_THRESHOLD: '1000000', LOGIN_SLOWDOWN_AFTER: '1000000' } },
})

beforeAll(async () => {
  const user = await registerUser(h.app)
  known = { email: user.email, password: user.password }
})

/** Time budget per route: the properties stop early (passing) rather than overrun the file budget. */
const RUN = { numRuns: 300, plugins: [fc.interruptAfterTimeLimit(3500)] }

/**
 * The time limit abandons a run in flight (fast-check cannot stop a predicate), and its request
 * would then write after the next test had counted rows. Every predicate is tracked, and each
 * test awaits its last run before it ends.
 */
let lastRun: Promise<unknown> = Promise.resolve()
const tracked =
  <A extends unknown[]>(predicate: (...args: A) => Promise<void>) =>
  (...args: A): Promise<void> => {
    const run = predicate(...args)
    lastRun = run.catch(() => {})
    return run
  }
async function assertSettled(run: () => Promise<void>): Promise<void> {
  try {
    await run()
  } finally {
    await lastRun
  }
}

async function counts(): Promise<{ users: number; sessions: number }> {
  const [row] = (await h.database.db.execute(
    sql`select (select count(*)::int from users) as users, (select count(*)::int from refresh_sessions) as sessions`,
  )) as unknown as { users: number; sessions: number }[]
  return row!
}

// ---------------------------------------------------------------------------------------------
// Generators. Bodies are built as raw JSON text so they can hold what JSON.stringify cannot:
// NaN, 1e309, -0, duplicate keys, `__proto__` keys, lone surrogate escapes, deep nesting.

const { hostileHeaderValue, hostileKey, hostileQuery, jsonBodyText, methodOf, payloadOf, rawJsonValue } =
  hostileInput(fc)

const HOSTILE = [
  ...HOSTILE_STRINGS,
  "'; drop table users; --",
  'admin@example.com\u0000',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a log4shell-style payload, on purpose
  '${jndi:ldap://x}',
]

const rawValue = rawJsonValue({
  hostileStrings: HOSTILE,
  literals: ['"\\udfff\\ud800"', '"a\\u0000b"'],
  maxNesting: 2500,
  maxStringLength: 20_000,
})

const keyOf = (fields: readonly string[]) =>
  hostileKey(fields, ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', ''])

const bodyText = (fields: readonly string[], valid: () => Record<string, unknown>) =>
  jsonBodyText(keyOf(fields), rawValue, valid)

const headerValue = hostileHeaderValue(HOSTILE)

const headersArb = fc.record(
  {
    'content-type': fc.oneof(
      { weight: 8, arbitrary: fc.constant('application/json') },
      fc.constantFrom(
        'application/json; charset=utf-8',
        'APPLICATION/JSON',
        'application/json; charset=latin1',
      ),
      fc.constantFrom(
        'text/plain',
        'text/plain;charset=UTF-8',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        'application/xml',
        'application/jsonx',
        '*/*',
        '',
      ),
    ),
    authorization: fc.oneof(
      headerValue,
      headerValue.map((v) => `Bearer ${v}`),
      fc.constant('Bearer VALID_ACCESS'),
    ),
    cookie: fc.oneof(
      headerValue,
      headerValue.map((v) => `${REFRESH_COOKIE_NAME}=${v}`),
      fc.constant(`${REFRESH_COOKIE_NAME}=VALID_REFRESH`),
    ),
    'x-request-id': headerValue,
    'accept-language': headerValue,
    'user-agent': headerValue,
    'x-forwarded-for': headerValue,
  },
  { requiredKeys: ['content-type'] },
)

const queryArb = hostileQuery(['?a[]=1&a[]=2', '?=&&='])

const ROUTES = {
  register: {
    method: 'POST' as const,
    fields: [
      'email',
      'password',
      'acceptedTerms',
      'acceptedPrivacy',
      'username',
      'displayName',
      'intent',
      'captchaToken',
      'referralCode',
      'locale',
      'utmSource',
      'firstReferrerUrl',
      'acquiredViaCreatorId',
    ],
    valid: () => newUser(),
  },
  login: {
    method: 'POST' as const,
    fields: ['email', 'password', 'captchaToken', 'turnstileToken'],
    valid: () => ({ email: ` ${known.email.toUpperCase()} `, password: known.password }),
  },
  refresh: {
    method: 'POST' as const,
    fields: ['refreshToken'],
    valid: () => ({ refreshToken: 'VALID_REFRESH' }),
  },
  logout: {
    method: 'POST' as const,
    fields: ['refreshToken'],
    valid: () => ({ refreshToken: 'VALID_REFRESH' }),
  },
  me: { method: 'GET' as const, fields: [], valid: () => ({}) },
  'verify-email': { method: 'POST' as const, fields: ['token'], valid: () => ({ token: randomUUID() }) },
  'resend-verification': {
    method: 'POST' as const,
    fields: ['email', 'captchaToken'],
    valid: () => ({ email: known.email }),
  },
  'forgot-password': {
    method: 'POST' as const,
    fields: ['email', 'captchaToken'],
    valid: () => ({ email: known.email }),
  },
  'reset-password': {
    method: 'POST' as const,
    fields: ['token', 'newPassword'],
    valid: () => ({ token: randomUUID(), newPassword: 'Another-Pass1' }),
  },
  // A wrong current password: a success would change the password the other routes sign in with.
  'change-password': {
    method: 'POST' as const,
    fields: ['currentPassword', 'newPassword'],
    valid: () => ({ currentPassword: 'Not-The-Password1', newPassword: 'Another-Pass1' }),
  },
  sessions: { method: 'GET' as const, fields: [], valid: () => ({}) },
  'sessions/revoke-all': { method: 'POST' as const, fields: [], valid: () => ({}) },
}
type RouteName = keyof typeof ROUTES

/** A fresh token pair for the placeholders (its session is counted before the request). */
async function freshTokens(): Promise<{ access: string; refresh: string }> {
  const res = await login(h.app, known.email, known.password)
  expect(res.statusCode, res.body).toBe(200)
  return { access: res.json().data.accessToken, refresh: refreshCookieOf(res)!.value }
}

/** The success `data` keys; null: `{ success: true }` with no data; 'list': an array. */
const SUCCESS_KEYS: Record<RouteName, string[] | null | 'list'> = {
  register: ['accessToken', 'expiresIn', 'userId'],
  login: ['accessToken', 'expiresIn'],
  refresh: ['accessToken', 'expiresIn'],
  logout: ['message'],
  me: ['avatarUrl', 'displayName', 'email', 'emailVerified', 'id', 'status', 'username'],
  'verify-email': null,
  'resend-verification': ['message'],
  'forgot-password': ['message'],
  'reset-password': null,
  'change-password': null,
  sessions: 'list',
  'sessions/revoke-all': null,
}

const prototypeKeys = Object.getOwnPropertyNames(Object.prototype).sort()

describe.each(Object.keys(ROUTES) as RouteName[])('%s: random and hostile requests', (name) => {
  const route = ROUTES[name]
  it('answer 2xx or a 4xx envelope, never 5xx; rows grow only by the successes', async () => {
    const arb = fc.record({
      method: methodOf(route.method),
      query: queryArb,
      headers: headersArb,
      payload: payloadOf(bodyText(route.fields, route.valid)),
    })
    await assertSettled(() =>
      fc.assert(
        fc.asyncProperty(
          arb,
          tracked(async ({ method, query, headers, payload }) => {
            let body = payload
            const wanted = new Set<string>()
            const text = `${body?.toString('latin1') ?? ''} ${headers.authorization ?? ''} ${headers.cookie ?? ''}`
            for (const p of ['VALID_REFRESH', 'VALID_ACCESS']) if (text.includes(p)) wanted.add(p)
            const finalHeaders: Record<string, string> = { ...headers }
            if (wanted.size > 0) {
              const tokens = await freshTokens()
              const swap = (s: string) =>
                s.replaceAll('VALID_REFRESH', tokens.refresh).replaceAll('VALID_ACCESS', tokens.access)
              if (body) body = Buffer.from(swap(body.toString('latin1')), 'latin1')
              for (const [k, v] of Object.entries(finalHeaders)) finalHeaders[k] = swap(v)
            }
            const before = await counts()
            const options: InjectOptions = {
              method,
              url: `${AUTH}/${name}${query}`,
              headers: finalHeaders,
              ...(body === undefined || method === 'GET' || method === 'HEAD' ? {} : { payload: body }),
            }
            const res = await h.app.inject(options)

            expect(res.statusCode, res.body).toBeLessThan(500)
            expect(res.statusCode).toBeGreaterThanOrEqual(200)
            const hasBody = method !== 'HEAD' && res.statusCode !== 204
            if (res.statusCode >= 400 && hasBody) expectError(res, res.statusCode)
            const succeeded = res.statusCode < 300 && method === route.method
            if (succeeded) {
              const json = res.json() as { success: boolean; data: Record<string, unknown> }
              expect(json.success).toBe(true)
              const keys = SUCCESS_KEYS[name]
              if (keys === null) expect(Object.keys(json)).toEqual(['success'])
              else if (keys === 'list') expect(Array.isArray(json.data)).toBe(true)
              else expect(Object.keys(json.data).sort()).toEqual(keys)
            }
            const after = await counts()
            expect(after.users - before.users, 'users written').toBe(succeeded && name === 'register' ? 1 : 0)
            const issues = succeeded && (name === 'register' || name === 'login' || name === 'refresh')
            expect(after.sessions - before.sessions, 'refresh sessions written').toBe(issues ? 1 : 0)
            expect(({} as Record<string, unknown>).polluted).toBeUndefined()
            expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeKeys)
          }),
        ),
        RUN,
      ),
    )
  }, 20_000)
})

describe('hostile path segments and ids', () => {
  it('any path under /api/v1/auth answers a 4xx envelope (never 5xx) and writes nothing', async () => {
    const segment = fc.oneof(
      fc.string({ maxLength: 40 }).map(encodeURIComponent),
      fc.constantFrom('%E0%A4%A', '%', '%00', '..', '%2e%2e', 'a'.repeat(300), "'%20OR%201=1--", '__proto__'),
    )
    await assertSettled(() =>
      fc.assert(
        fc.asyncProperty(
          fc.array(segment, { minLength: 1, maxLength: 3 }),
          fc.constantFrom('GET', 'POST', 'PATCH', 'DELETE'),
          tracked(async (segments: string[], method: string) => {
            const before = await counts()
            const res = await h.app.inject({ method, url: `${AUTH}/${segments.join('/')}` })
            expect(res.statusCode, res.body).toBeLessThan(500)
            if (res.statusCode >= 400) expectError(res, res.statusCode)
            expect(await counts()).toEqual(before)
          }),
        ),
        RUN,
      ),
    )
  })
})
