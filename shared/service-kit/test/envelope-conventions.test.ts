import { describe, expect, it } from 'vitest'
import { apiSecurityHeaders, expectError } from '../src/testing/index.js'
import { conventionsApp } from './service-app.js'
import { useBareApp } from './use-bare-app.js'

/**
 * What every service inherits from createServiceApp, tested once on a small app: the error
 * envelope for each kind of failure, the correlation id, and the security headers on every answer.
 */

const app = useBareApp(() => conventionsApp({ env: { RATE_LIMITS: 'limited=1/1h' } }))
const json = { 'content-type': 'application/json' }
const post = (payload: string, headers: Record<string, string> = json) =>
  app().inject({ method: 'POST', url: '/things', payload, headers })

describe('the error envelope', () => {
  it('400 VALIDATION_FAILED with one detail per problem, all reported at once', async () => {
    const error = expectError(await post('{"extra":1}'), 400, 'VALIDATION_FAILED', 'common.validation_failed')
    expect(error.details?.length).toBeGreaterThanOrEqual(2)
    for (const detail of error.details ?? []) expect(detail.message.length).toBeGreaterThan(0)
  })

  it.each(['{"name": ', '{bad json}', "{'single': 'quotes'}", '{"a":1}}'])(
    '400 MALFORMED_BODY for %s',
    async (raw) => {
      expectError(await post(raw), 400, 'MALFORMED_BODY', 'common.malformed_body')
    },
  )

  it.each(['[]', 'null', '"a string"', '42', 'true'])(
    '400 VALIDATION_FAILED for the body %s',
    async (raw) => {
      expectError(await post(raw), 400, 'VALIDATION_FAILED')
    },
  )

  it('400, never 500, for prototype-poisoning keys; no prototype is polluted', async () => {
    for (const raw of ['{"__proto__": {"admin": true}}', '{"constructor": {"prototype": {"admin": true}}}']) {
      expectError(await post(raw), 400)
    }
    expect(({} as Record<string, unknown>).admin).toBeUndefined()
  })

  it('404 NOT_FOUND for an unknown path, any method', async () => {
    for (const method of ['GET', 'POST', 'DELETE'] as const) {
      expectError(await app().inject({ method, url: '/nope' }), 404, 'NOT_FOUND', 'common.not_found')
    }
  })

  it('405 METHOD_NOT_ALLOWED with Allow for a known path', async () => {
    const res = await app().inject({ method: 'DELETE', url: '/things' })
    expectError(res, 405, 'METHOD_NOT_ALLOWED', 'common.method_not_allowed')
    expect(res.headers.allow).toBe('POST')
  })

  it('413 PAYLOAD_TOO_LARGE over the route limit', async () => {
    const res = await post(JSON.stringify({ name: 'x'.repeat(100) }))
    expectError(res, 413, 'PAYLOAD_TOO_LARGE', 'common.payload_too_large')
  })

  it.each([
    'application/xml',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    'text/plain',
  ])('415 UNSUPPORTED_MEDIA_TYPE for %s', async (type) => {
    const res = await post('name=x', { 'content-type': type })
    expectError(res, 415, 'UNSUPPORTED_MEDIA_TYPE', 'common.unsupported_media_type')
  })

  it('429 RATE_LIMITED with retry-after, ratelimit-* and i18nVars.retryAfterSeconds', async () => {
    const first = await app().inject({ method: 'GET', url: '/limited', remoteAddress: '192.0.2.10' })
    expect(first.statusCode).toBe(200)
    const res = await app().inject({ method: 'GET', url: '/limited', remoteAddress: '192.0.2.10' })
    const error = expectError(res, 429, 'RATE_LIMITED', 'common.rate_limited')
    expect(error.i18nVars?.retryAfterSeconds).toBe(Number(res.headers['retry-after']))
  })

  it('500 INTERNAL for an unexpected error, with nothing of the error in the answer', async () => {
    const res = await app().inject({ method: 'GET', url: '/boom' })
    const error = expectError(res, 500, 'INTERNAL', 'common.internal')
    expect(res.body).not.toMatch(/ECONNREFUSED|10\.0\.0\.5|hunter2|stack/i)
    expect(error.details).toBeUndefined()
  })

  it('framework errors: a malformed %-escape (400) and a path parameter over 200 characters (414)', async () => {
    expectError(await app().inject({ method: 'GET', url: '/things/%E0%A4%A' }), 400)
    const long = await app().inject({ method: 'GET', url: `/things/${'a'.repeat(201)}` })
    expectError(long, 414, 'URI_TOO_LONG')
  })

  it('503 SERVICE_UNAVAILABLE with retry-after for a request that reaches a closing app', async () => {
    // Closed before it was ever ready: the request queued behind close() meets a closing app
    // (avvio runs them in order; nothing here depends on timing).
    const closing = await conventionsApp()
    const done = closing.close()
    const res = await closing.inject({ method: 'GET', url: '/things/1' })
    await done
    expectError(res, 503, 'SERVICE_UNAVAILABLE', 'common.service_unavailable')
    expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1)
    expect(res.headers).toMatchObject(apiSecurityHeaders('same-site'))
  })
})
