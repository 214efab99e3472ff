import { HOSTILE_STRINGS, hostileInput } from '@bio/service-kit/testing'
import fc from 'fast-check'
import type { InjectOptions } from 'fastify'
import { beforeAll, describe, expect, it } from 'vitest'
import {
  A,
  bearer,
  CHROME_UA,
  createSession,
  dumpDatabase,
  expectError,
  recordPageView,
  rowCounts,
  UUID_RE,
  useAnalyticsHarness,
} from './helper.js'

/**
 * Property-based hostile input on every analytics route (fast-check): random and malicious bodies
 * (wrong types, deep nesting, huge strings, invalid UTF-8 bytes, `__proto__`/`constructor` keys,
 * SQL fragments, NaN/1e309/-0, duplicate keys), headers, path ids, query strings and methods.
 * Every answer is a 2xx in the contract's shape or a 4xx in the envelope, never a 5xx. A rejected
 * request changes nothing in the database; a silent `{ ok: true }` for an id that names no row
 * changes nothing either; rows only grow by the ids answered.
 */

/** A session and one of its pageviews, which path ids sometimes name. */
let S: string
let V: string
const USER = '0d0d0d0d-0000-4000-8000-000000000001'

const h = useAnalyticsHarness()

beforeAll(async () => {
  S = await createSession(h.app)
  V = await recordPageView(h.app, S)
})

const RUN = { numRuns: 250, plugins: [fc.interruptAfterTimeLimit(3000)] }

// ---------------------------------------------------------------------------------------------
// Generators (bodies as raw JSON text, so they can hold NaN, 1e309, -0, duplicate keys,
// `__proto__` keys, lone surrogate escapes and deep nesting).

const { hostileHeaderValue, hostileKey, hostileQuery, jsonBodyText, methodOf, payloadOf, rawJsonValue } =
  hostileInput(fc)

const HOSTILE = [...HOSTILE_STRINGS, "'; drop table analytics_sessions; --", 'granted\u0000']

const rawValue = rawJsonValue({
  hostileStrings: HOSTILE,
  literals: ['3600.0000001', '-0.0000001'],
  maxNesting: 2000,
  maxStringLength: 9000,
  extra: [fc.double({ min: -10, max: 4000, noNaN: true }).map(String)],
})

const bodyText = (fields: readonly string[], valid: () => Record<string, unknown>) =>
  jsonBodyText(
    hostileKey(fields, ['__proto__', 'constructor', 'prototype', 'userId', 'id', '']),
    rawValue,
    valid,
  )

const headerValue = hostileHeaderValue(HOSTILE)

const headersArb = fc.record(
  {
    'content-type': fc.oneof(
      { weight: 8, arbitrary: fc.constant('application/json') },
      { weight: 3, arbitrary: fc.constant('text/plain;charset=UTF-8') },
      fc.constantFrom(
        'application/json; charset=utf-8',
        'APPLICATION/JSON',
        'text/plain',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        'application/xml',
        '*/*',
        '',
      ),
    ),
    'user-agent': fc.oneof({ weight: 3, arbitrary: fc.constant(CHROME_UA) }, headerValue),
    authorization: fc.oneof(
      headerValue.map((v) => `Bearer ${v}`),
      fc.constant('VALID'),
    ),
    'sec-ch-ua-platform': headerValue,
    'x-request-id': headerValue,
    'x-forwarded-for': headerValue,
    referer: headerValue,
  },
  { requiredKeys: ['content-type', 'user-agent'] },
)

/** Path ids: the fixture rows (any case), other UUIDs, and hostile segments. */
const pathId = fc.oneof(
  fc.constant('S'),
  fc.constant('V'),
  fc.uuid(),
  fc.string({ maxLength: 40 }).map(encodeURIComponent),
  fc.constantFrom(
    '%E0%A4%A',
    '%',
    '%00',
    '..',
    'a'.repeat(201),
    'a'.repeat(400),
    "1'%20OR%20'1'='1",
    '__proto__',
    'constructor',
    'null',
    'undefined',
    '-0',
  ),
)

const queryArb = hostileQuery(['?id=1&id=2'])

type Op = 'session' | 'pageview' | 'leave' | 'heartbeat' | 'identify'
interface Route {
  op: Op
  method: 'POST' | 'PATCH'
  path: (id: string) => string
  fields: string[]
  valid: () => Record<string, unknown>
}
const ROUTES: Route[] = [
  {
    op: 'session',
    method: 'POST',
    path: () => `${A}/session`,
    fields: [
      'visitorId',
      'consentAnalytics',
      'bioPageId',
      'trackingToken',
      'device',
      'referrer',
      'utmSource',
    ],
    valid: () => ({ visitorId: `v-${Math.random()}`, consentAnalytics: 'granted' }),
  },
  {
    op: 'pageview',
    method: 'POST',
    path: () => `${A}/pageview`,
    fields: ['sessionId', 'path', 'title', 'referrer', 'bioPageId', 'linkClicked'],
    valid: () => ({ sessionId: 'S', path: '/hello' }),
  },
  {
    op: 'leave',
    method: 'PATCH',
    path: (id) => `${A}/pageview/${id}/leave`,
    fields: ['duration', 'scrollDepth'],
    valid: () => ({ duration: 12.5, scrollDepth: 40 }),
  },
  {
    op: 'leave',
    method: 'POST',
    path: (id) => `${A}/pageview/${id}/leave`,
    fields: ['duration', 'scrollDepth'],
    valid: () => ({ duration: 3 }),
  },
  {
    op: 'heartbeat',
    method: 'PATCH',
    path: (id) => `${A}/session/${id}/heartbeat`,
    fields: ['duration'],
    valid: () => ({}),
  },
  {
    op: 'identify',
    method: 'PATCH',
    path: (id) => `${A}/session/${id}/identify`,
    fields: ['userId'],
    valid: () => ({}),
  },
]

const prototypeKeys = Object.getOwnPropertyNames(Object.prototype).sort()

describe.each(ROUTES)('$method $op: random and hostile requests', (route) => {
  it('answer the contract or a 4xx envelope, never 5xx; the database changes only as answered', async () => {
    const arb = fc.record({
      method: methodOf(route.method),
      id: pathId,
      query: queryArb,
      headers: headersArb,
      payload: payloadOf(bodyText(route.fields, route.valid)),
    })
    await fc.assert(
      fc.asyncProperty(arb, async ({ method, id, query, headers, payload }) => {
        const swap = (s: string) =>
          s.replaceAll('"S"', JSON.stringify(S)).replaceAll('"V"', JSON.stringify(V))
        const body =
          payload === undefined ? undefined : Buffer.from(swap(payload.toString('latin1')), 'latin1')
        const realId = id === 'S' ? S : id === 'V' ? V : id
        const finalHeaders: Record<string, string> = {
          ...headers,
          ...(headers.authorization === 'VALID' ? { authorization: bearer(USER) } : {}),
        }
        const counts = await rowCounts(h)
        const dump = await dumpDatabase(h)
        const options: InjectOptions = {
          method,
          url: `${route.path(realId)}${query}`,
          headers: finalHeaders,
          ...(body === undefined || method === 'GET' || method === 'HEAD' ? {} : { payload: body }),
        }
        const res = await h.app.inject(options)

        expect(res.statusCode, res.body).toBeLessThan(500)
        expect(res.statusCode).toBeGreaterThanOrEqual(200)
        if (res.statusCode >= 400) {
          if (method !== 'HEAD') expectError(res, res.statusCode)
          // Rejected: nothing written, nothing changed.
          expect(await rowCounts(h)).toEqual(counts)
          expect(await dumpDatabase(h)).toBe(dump)
          return
        }
        // A leave answers PATCH and the beacon's POST; every other route its own method only.
        expect(route.op === 'leave' ? ['PATCH', 'POST'] : [route.method]).toContain(method)
        const json = res.json() as { success: boolean; data: Record<string, unknown> }
        expect(json.success).toBe(true)
        const after = await rowCounts(h)
        if (route.op === 'session' || route.op === 'pageview') {
          expect(Object.keys(json.data)).toEqual(['id'])
          const newId = json.data.id as string | null
          if (newId !== null) expect(newId).toMatch(UUID_RE)
          const grew = newId === null ? 0 : 1
          expect(after).toEqual({
            sessions: counts.sessions + (route.op === 'session' ? grew : 0),
            pageviews: counts.pageviews + (route.op === 'pageview' ? grew : 0),
          })
        } else {
          expect(json.data).toEqual({ ok: true })
          expect(after).toEqual(counts)
          // A ping for an id that names no row is a silent no-op.
          const names = realId.toLowerCase() === S || realId.toLowerCase() === V
          if (!names) expect(await dumpDatabase(h)).toBe(dump)
        }
        expect(({} as Record<string, unknown>).polluted).toBeUndefined()
        expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeKeys)
      }),
      RUN,
    )
  }, 20_000)
})
