// The benchmark's baseline: a bare Fastify route in the same kind of process as the services,
// parsing a JSON body and answering the same success envelope, with logging off like the services
// under benchmark. Whatever the services reach is reported as a ratio of this.
import Fastify from 'fastify'

const app = Fastify({ logger: false })
app.post('/bench', async (req) => ({
  success: true,
  data: { id: typeof req.body === 'object' ? null : null },
}))
app.get('/readyz', async () => ({ success: true, data: { status: 'ready' } }))
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' })
process.on('SIGTERM', () => app.close().then(() => process.exit(0)))
