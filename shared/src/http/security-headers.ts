import helmet from 'helmet'

export type ResourcePolicy = 'same-origin' | 'same-site' | 'cross-origin'

/**
 * Helmet's security headers, computed once. Helmet's middleware would rebuild the same static
 * headers (CSP parsing included) on every request, which showed up in the ingest profile; the
 * header set does not depend on the request, so it is captured at start and copied onto replies.
 */
export function securityHeaders(resourcePolicy: ResourcePolicy): Record<string, string> {
  const headers: Record<string, string> = {}
  const middleware = helmet({
    crossOriginResourcePolicy: { policy: resourcePolicy },
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        styleSrc: ["'self'", "'unsafe-inline'"],
        scriptSrc: ["'self'"],
      },
    },
  })
  const res = {
    setHeader: (name: string, value: string | number) => {
      headers[name.toLowerCase()] = String(value)
    },
    removeHeader: (name: string) => {
      delete headers[name.toLowerCase()]
    },
  }
  middleware({} as never, res as never, () => {})
  return headers
}
