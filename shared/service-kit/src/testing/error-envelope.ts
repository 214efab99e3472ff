import type { LightMyRequestResponse } from 'fastify'
import { expect } from 'vitest'

/** The `error` object of the standard envelope, as the tests read it. */
export interface ErrorBodyShape {
  code: string
  message: string
  i18nKey: string
  correlationId: string
  i18nVars?: Record<string, string | number>
  details?: { field?: string; message: string; rule?: string }[]
}

const ERROR_KEYS = ['code', 'message', 'i18nKey', 'correlationId', 'i18nVars', 'details']

/**
 * Asserts the error envelope: the status, JSON, exactly `{ success: false, error }` at the top
 * level, an `error` with only the envelope's keys, a SCREAMING_SNAKE code, a non-empty message, a
 * dotted i18nKey and a correlationId equal to the `x-request-id` response header; then `code` and
 * `i18nKey` when given. Returns the error for further checks.
 */
export function expectError(
  res: LightMyRequestResponse,
  status: number,
  code?: string,
  i18nKey?: string,
): ErrorBodyShape {
  expect(res.statusCode, res.body).toBe(status)
  expect(res.headers['content-type']).toMatch(/^application\/json/)
  const body = res.json() as { success: unknown; error: ErrorBodyShape }
  expect(Object.keys(body).sort()).toEqual(['error', 'success'])
  expect(body.success).toBe(false)
  const { error } = body
  for (const key of Object.keys(error)) expect(ERROR_KEYS).toContain(key)
  expect(typeof error.code).toBe('string')
  expect(error.code).toMatch(/^[A-Z][A-Z0-9_]+$/)
  expect(typeof error.message).toBe('string')
  expect(error.message.length).toBeGreaterThan(0)
  expect(typeof error.i18nKey).toBe('string')
  expect(error.i18nKey).toMatch(/^[a-z0-9_]+(\.[a-z0-9_]+)+$/)
  expect(error.correlationId).toBe(res.headers['x-request-id'])
  if (code !== undefined) expect(error.code).toBe(code)
  if (i18nKey !== undefined) expect(error.i18nKey).toBe(i18nKey)
  return error
}

/**
 * Asserts a rate-limit refusal: the 429 RATE_LIMITED envelope, a retry-after within
 * `maxSeconds` that the error's i18nVars repeat for clients, and no allowance left.
 */
export function expectRateLimited(res: LightMyRequestResponse, maxSeconds: number): ErrorBodyShape {
  const error = expectError(res, 429, 'RATE_LIMITED', 'common.rate_limited')
  const retryAfter = Number(res.headers['retry-after'])
  expect(retryAfter).toBeGreaterThan(0)
  expect(retryAfter).toBeLessThanOrEqual(maxSeconds)
  expect(error.i18nVars?.retryAfterSeconds).toBe(retryAfter)
  expect(res.headers['ratelimit-remaining']).toBe('0')
  return error
}

/** Asserts a shed request: the 503 envelope with a retry-after, the security headers, and no cookie set. */
export function expectShed(res: LightMyRequestResponse): void {
  expectError(res, 503, 'SERVICE_UNAVAILABLE', 'common.service_unavailable')
  expect(Number(res.headers['retry-after'])).toBeGreaterThan(0)
  expect(res.headers['x-content-type-options']).toBe('nosniff')
  expect(res.headers['set-cookie']).toBeUndefined()
}
