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
