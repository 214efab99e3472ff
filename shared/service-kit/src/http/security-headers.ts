export type ResourcePolicy = 'same-origin' | 'same-site' | 'cross-origin'

/**
 * The security headers of every API response: the set the OWASP REST Security Cheat Sheet lists
 * for JSON APIs ("Security Headers"), plus the Cross-Origin-Resource-Policy the service needs
 * (ingest is read cross-origin from every bio page). The service answers JSON, never a document,
 * so the document-only headers helmet adds for HTML (COOP, Origin-Agent-Cluster, DNS prefetch,
 * X-Download-Options, X-Permitted-Cross-Domain-Policies, X-XSS-Protection, a page CSP) protect
 * nothing here, and sending them on every small ingest answer costs throughput. HTML answers (the
 * docs UI and its static pages) carry swagger-ui's CSP and `documentSecurityHeaders` as well.
 */
export function securityHeaders(resourcePolicy: ResourcePolicy): Record<string, string> {
  return {
    'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
    'cross-origin-resource-policy': resourcePolicy,
    'referrer-policy': 'no-referrer',
    'strict-transport-security': 'max-age=31536000; includeSubDomains',
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
  }
}

/** Added to every `text/html` answer (the API docs) on top of `securityHeaders`. */
export const documentSecurityHeaders: Readonly<Record<string, string>> = {
  'cross-origin-opener-policy': 'same-origin',
  'origin-agent-cluster': '?1',
  'x-dns-prefetch-control': 'off',
  'x-permitted-cross-domain-policies': 'none',
}
