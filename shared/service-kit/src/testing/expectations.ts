import type { LightMyRequestResponse } from 'fastify'
import { expect } from 'vitest'
import type { ResourcePolicy } from '../http/security-headers.js'

/** An id as the services answer it: a lowercase UUID. */
export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/**
 * The security headers every JSON answer carries, written out as literals: the tests' oracle,
 * deliberately not read from `securityHeaders()`, so a change there must be made here as well.
 */
export const apiSecurityHeaders = (resourcePolicy: ResourcePolicy): Record<string, string> => ({
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'cross-origin-resource-policy': resourcePolicy,
  'referrer-policy': 'no-referrer',
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
})

/**
 * Asserts the headers every JSON answer carries: the security headers for `resourcePolicy`, none
 * of the document-only ones (those are for the docs pages), no x-powered-by, and an x-request-id.
 */
export function expectApiHeaders(res: LightMyRequestResponse, resourcePolicy: ResourcePolicy): void {
  expect(res.headers).toMatchObject(apiSecurityHeaders(resourcePolicy))
  expect(res.headers['cross-origin-opener-policy']).toBeUndefined()
  expect(res.headers['x-powered-by']).toBeUndefined()
  expect(res.headers['x-request-id']).toBeTruthy()
}
