// The benchmark's baseline: bare Fastify in the same kind of process as the services, logging off
// like the services under benchmark. It answers every ingest path the benchmark sends with the
// envelope that route answers (a fresh id for session/pageview, `{ ok: true }` otherwise), after
// parsing the same body (JSON, and the text/plain beacon body as JSON like the leave route), so
// each route can be driven at it by the identical request generator. Whatever the services reach
// is reported as a ratio of this.
import { randomUUID } from 'node:crypto'
import Fastify from 'fastify'

const app = Fastify({ logger: false })
app.addContentTypeParser('text/plain', { parseAs: 'string' }, (_req, body, done) => {
  try {
    done(null, JSON.parse(body))
  } catch (err) {
    done(err)
  }
})
const answersId = /\/(session|pageview)$/
app.route({
  method: ['POST', 'PATCH'],
  url: '/*',
  handler: async (req) =>
    answersId.test(req.url)
      ? { success: true, data: { id: randomUUID() } }
      : { success: true, data: { ok: true } },
})
app.get('/readyz', async () => ({ success: true, data: { status: 'ready' } }))
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' })
process.on('SIGTERM', () => app.close().then(() => process.exit(0)))
