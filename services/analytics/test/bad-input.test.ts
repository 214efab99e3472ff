import type { InjectOptions } from 'fastify'
import { beforeAll, beforeEach, describe, expect, it } from 'vitest'
import {
  A,
  bearer,
  CHROME_UA,
  createSession,
  expectError,
  pageViewRow,
  recordPageView,
  rowCounts,
  sessionBody,
  sessionRow,
  UNKNOWN_ID,
  useAnalyticsHarness,
} from './helper.js'

/** A session and a pageview every test may target; their rows must never change here. */
let sessionId: string
let viewId: string

const h = useAnalyticsHarness()

beforeAll(async () => {
  sessionId = await createSession(h.app)
  viewId = await recordPageView(h.app, sessionId)
})

let counts: { sessions: number; pageviews: number }
beforeEach(async () => {
  counts = await rowCounts(h)
})

/** Nothing half-written: same row counts, and the fixture session and view untouched. */
async function expectNothingWritten() {
  expect(await rowCounts(h)).toEqual(counts)
  expect(await sessionRow(h, sessionId)).toMatchObject({ pageViews: 1, duration: 0, userId: null })
  expect(await pageViewRow(h, viewId)).toMatchObject({ duration: null, scrollDepth: null, leftAt: null })
}

type Route = {
  name: string
  method: 'POST' | 'PATCH'
  url: () => string
  headers: () => Record<string, string>
}
const ROUTES: Route[] = [
  {
    name: 'POST /session',
    method: 'POST',
    url: () => `${A}/session`,
    headers: () => ({ 'user-agent': CHROME_UA }),
  },
  { name: 'POST /pageview', method: 'POST', url: () => `${A}/pageview`, headers: () => ({}) },
  {
    name: 'PATCH /pageview/:id/leave',
    method: 'PATCH',
    url: () => `${A}/pageview/${viewId}/leave`,
    headers: () => ({}),
  },
  {
    name: 'POST /pageview/:id/leave',
    method: 'POST',
    url: () => `${A}/pageview/${viewId}/leave`,
    headers: () => ({}),
  },
  {
    name: 'PATCH /session/:id/heartbeat',
    method: 'PATCH',
    url: () => `${A}/session/${sessionId}/heartbeat`,
    headers: () => ({}),
  },
  {
    name: 'PATCH /session/:id/identify',
    method: 'PATCH',
    url: () => `${A}/session/${sessionId}/identify`,
    headers: () => ({ authorization: bearer('0b0b0b0b-0000-4000-8000-000000000001') }),
  },
]
/** The routes that declare a JSON body. */
const BODY_ROUTES = ROUTES.filter((r) => !/heartbeat|identify/.test(r.name))

const send = (route: Route, payload: string | undefined, contentType?: string) => {
  const options: InjectOptions = {
    method: route.method,
    url: route.url(),
    headers: { ...route.headers(), ...(contentType ? { 'content-type': contentType } : {}) },
    ...(payload === undefined ? {} : { payload }),
  }
  return h.app.inject(options)
}

describe.each(ROUTES)('$name: malformed requests', (route) => {
  it('malformed JSON → 400 MALFORMED_BODY', async () => {
    for (const raw of ['{"visitorId": ', '{bad json}', "{'single': 'quotes'}", '{"a":1}}']) {
      expectError(await send(route, raw, 'application/json'), 400, 'MALFORMED_BODY')
    }
    await expectNothingWritten()
  })

  it('application/xml and form bodies → 415 UNSUPPORTED_MEDIA_TYPE', async () => {
    expectError(
      await send(route, '<session visitorId="x"/>', 'application/xml'),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    )
    expectError(
      await send(route, 'duration=1', 'application/x-www-form-urlencoded'),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    )
    expectError(await send(route, 'x', 'multipart/form-data; boundary=x'), 415, 'UNSUPPORTED_MEDIA_TYPE')
    await expectNothingWritten()
  })

  it('a body over the route limit → 413 PAYLOAD_TOO_LARGE', async () => {
    const big = JSON.stringify({ visitorId: 'v', pad: 'x'.repeat(9000) })
    expectError(await send(route, big, 'application/json'), 413, 'PAYLOAD_TOO_LARGE')
    await expectNothingWritten()
  })

  it('prototype-poisoning JSON → 400, never 500', async () => {
    for (const raw of ['{"__proto__": {"admin": true}}', '{"constructor": {"prototype": {"admin": true}}}']) {
      expectError(await send(route, raw, 'application/json'), 400)
    }
    expect(({} as Record<string, unknown>).admin).toBeUndefined()
    await expectNothingWritten()
  })
})

describe.each(BODY_ROUTES)('$name: bodies that are not objects', (route) => {
  it.each([
    ['an array', '[]'],
    ['an array of objects', '[{"duration": 1, "visitorId": "v", "consentAnalytics": "granted"}]'],
    ['null', 'null'],
    ['a string', '"granted"'],
    ['a number', '42'],
    ['true', 'true'],
  ])('%s → 400 VALIDATION_FAILED', async (_name, raw) => {
    expectError(await send(route, raw, 'application/json'), 400, 'VALIDATION_FAILED')
    await expectNothingWritten()
  })

  it('an empty JSON body → 400 envelope', async () => {
    expectError(await send(route, '', 'application/json'), 400)
    await expectNothingWritten()
  })

  it('no body at all → 4xx envelope', async () => {
    const res = await send(route, undefined)
    expect(res.statusCode).toBeGreaterThanOrEqual(400)
    expect(res.statusCode).toBeLessThan(500)
    expectError(res, res.statusCode)
    await expectNothingWritten()
  })
})

describe('POST /session: field validation', () => {
  const post = (body: unknown) =>
    h.app.inject({
      method: 'POST',
      url: `${A}/session`,
      payload: body as object,
      headers: { 'user-agent': CHROME_UA },
    })

  it.each([
    ['visitorId missing', { visitorId: undefined }, 'visitorId', 'required'],
    ['visitorId a number', { visitorId: 123 }, 'visitorId', 'type'],
    ['visitorId empty', { visitorId: '' }, 'visitorId', 'minLength'],
    ['visitorId 129 characters', { visitorId: 'v'.repeat(129) }, 'visitorId', 'maxLength'],
    ['consentAnalytics a boolean', { consentAnalytics: true }, 'consentAnalytics', 'type'],
    ['consentAnalytics 33 characters', { consentAnalytics: 'g'.repeat(33) }, 'consentAnalytics', 'maxLength'],
    ['bioPageId not a UUID', { bioPageId: 'page-1' }, 'bioPageId', 'format'],
    ['trackingToken an object', { trackingToken: { a: 1 } }, 'trackingToken', 'type'],
    ['trackingToken 65 characters', { trackingToken: 'f'.repeat(65) }, 'trackingToken', 'maxLength'],
    ['device a number', { device: 1 }, 'device', 'type'],
    ['browser an array', { browser: ['Chrome'] }, 'browser', 'type'],
    ['referrer 2049 characters', { referrer: `https://e.com/${'r'.repeat(2035)}` }, 'referrer', 'maxLength'],
    ['utmSource 256 characters', { utmSource: 'u'.repeat(256) }, 'utmSource', 'maxLength'],
    ['timezone null', { timezone: null }, 'timezone', 'type'],
    ['an extra field', { fingerprint: 'abc' }, 'fingerprint', 'additionalProperties'],
    ['an extra userId', { userId: '0b0b0b0b-0000-4000-8000-000000000001' }, 'userId', 'additionalProperties'],
  ])('%s → 400 naming the field', async (_name, overrides, field, rule) => {
    const body = { ...sessionBody(), ...overrides }
    const error = expectError(await post(body), 400, 'VALIDATION_FAILED')
    expect(error.details).toContainEqual(expect.objectContaining({ field, rule }))
    await expectNothingWritten()
  })

  it('reports every problem at once', async () => {
    const error = expectError(await post({ visitorId: 1, device: 2, extra: 3 }), 400, 'VALIDATION_FAILED')
    const fields = error.details!.map((d) => d.field)
    expect(fields).toEqual(expect.arrayContaining(['visitorId', 'device', 'extra']))
    await expectNothingWritten()
  })

  it('text/plain is not JSON here → 4xx envelope', async () => {
    const res = await send(ROUTES[0]!, JSON.stringify(sessionBody()), 'text/plain')
    expect(res.statusCode).toBeGreaterThanOrEqual(400)
    expect(res.statusCode).toBeLessThan(500)
    expectError(res, res.statusCode)
    await expectNothingWritten()
  })
})

describe('POST /pageview: field validation', () => {
  const post = (body: unknown) =>
    h.app.inject({ method: 'POST', url: `${A}/pageview`, payload: body as object })

  it.each([
    ['sessionId missing', { sessionId: undefined, path: '/' }, 'sessionId', 'required'],
    ['sessionId not a UUID', { sessionId: 'abc', path: '/' }, 'sessionId', 'format'],
    ['sessionId a number', { sessionId: 5, path: '/' }, 'sessionId', 'type'],
    ['path missing', {}, 'path', 'required'],
    ['path empty', { path: '' }, 'path', 'minLength'],
    ['path 2049 characters', { path: `/${'p'.repeat(2048)}` }, 'path', 'maxLength'],
    ['title 513 characters', { path: '/', title: 't'.repeat(513) }, 'title', 'maxLength'],
    ['referrer an object', { path: '/', referrer: {} }, 'referrer', 'type'],
    ['linkClicked not a UUID', { path: '/', linkClicked: 'link-7' }, 'linkClicked', 'format'],
    ['bioPageId not a UUID', { path: '/', bioPageId: 'x' }, 'bioPageId', 'format'],
    ['an extra field', { path: '/', duration: 5 }, 'duration', 'additionalProperties'],
  ])('%s → 400 naming the field', async (_name, body, field, rule) => {
    const error = expectError(await post({ sessionId, ...body }), 400, 'VALIDATION_FAILED')
    expect(error.details).toContainEqual(expect.objectContaining({ field, rule }))
    await expectNothingWritten()
  })
})

describe('unknown routes and methods', () => {
  it('a wrong method → 405 METHOD_NOT_ALLOWED envelope with Allow', async () => {
    const res = await h.app.inject({ method: 'GET', url: `${A}/session` })
    expectError(res, 405, 'METHOD_NOT_ALLOWED')
    expect(res.headers.allow).toContain('POST')
    const del = await h.app.inject({ method: 'DELETE', url: `${A}/pageview/${viewId}/leave` })
    expectError(del, 405, 'METHOD_NOT_ALLOWED')
    expect(String(del.headers.allow)).toMatch(/PATCH/)
    expect(String(del.headers.allow)).toMatch(/POST/)
  })

  // The envelope of these framework errors is a shared convention (shared/test); here: no write.
  it('a path id over 200 characters or a malformed %-escape: a 4xx, never a 5xx, and no write', async () => {
    for (const url of [`${A}/session/${'a'.repeat(201)}/heartbeat`, `${A}/session/%E0%A4%A/heartbeat`]) {
      const res = await h.app.inject({ method: 'PATCH', url })
      expect(res.statusCode).toBeGreaterThanOrEqual(400)
      expect(res.statusCode).toBeLessThan(500)
    }
    await expectNothingWritten()
  })
})

describe('odd but valid JSON never reaches a 500', () => {
  it.each([
    ['a huge number for duration', '{"duration": 1e309}'],
    ['a deeply nested object', `{"duration": 1, "x": ${'['.repeat(200)}${']'.repeat(200)}}`],
    ['duplicate keys', '{"duration": 5000, "duration": 5}'],
    ['unicode escapes', '{"duration": 1, "\\u0000": 1}'],
  ])('%s on the leave route → 4xx or 200, never 5xx', async (_name, raw) => {
    const res = await h.app.inject({
      method: 'PATCH',
      url: `${A}/pageview/${UNKNOWN_ID}/leave`,
      payload: raw,
      headers: { 'content-type': 'application/json' },
    })
    expect(res.statusCode).toBeLessThan(500)
    if (res.statusCode !== 200) expectError(res, res.statusCode)
    await expectNothingWritten()
  })
})
