import { AppError, CommonErrors } from '@bio/contracts'
import fp from 'fastify-plugin'

/**
 * Once `close()` has begun, a request on a kept-alive connection gets the 503 envelope with
 * `Retry-After: 1`, and every answer (also of a request already in flight) closes its connection:
 * server.close() only reaps connections idle at that moment, so one that answers later would hold
 * the shutdown open for the keep-alive timeout. Fastify's own `return503OnClosing` is off.
 */
export const gracefulClose = fp(
  async (app) => {
    let closing = false
    app.addHook('preClose', async () => {
      closing = true
    })
    app.addHook('onRequest', (_req, reply, done) => {
      if (!closing) return done()
      reply.header('connection', 'close')
      done(new AppError(CommonErrors.SERVICE_UNAVAILABLE, { headers: { 'retry-after': '1' } }))
    })
    app.addHook('onSend', (_req, reply, payload, done) => {
      if (closing) reply.header('connection', 'close')
      done(null, payload)
    })
  },
  { name: 'graceful-close', fastify: '5.x' },
)
