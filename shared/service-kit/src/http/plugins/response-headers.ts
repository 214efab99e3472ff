import fp from 'fastify-plugin'
import { REQUEST_ID_HEADER } from '../correlation-id.js'
import { documentSecurityHeaders } from '../security-headers.js'

/**
 * Every answer carries the correlation id and the security headers, set in the first onRequest
 * hook so that even an answer a later hook sends early (the 503 of a closing app) has them; HTML
 * documents (the docs UI and its static pages) get the document-only headers too.
 */
export const responseHeaders = fp<{ securityHeaders: Readonly<Record<string, string>> }>(
  async (app, options) => {
    const secure = options.securityHeaders
    // Callback hooks rather than async ones: they run on every request, and an async hook costs
    // a promise and a microtask hop each time.
    app.addHook('onRequest', (req, reply, done) => {
      reply.header(REQUEST_ID_HEADER, req.id)
      reply.headers(secure)
      done()
    })
    app.addHook('onSend', (_req, reply, payload, done) => {
      const type = reply.getHeader('content-type')
      if (typeof type === 'string' && type.startsWith('text/html')) reply.headers(documentSecurityHeaders)
      done(null, payload)
    })
  },
  { name: 'response-headers', fastify: '5.x' },
)
