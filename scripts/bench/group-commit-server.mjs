// A second reference for the heartbeat route: bare Fastify (like the baseline) in front of the
// analytics service's own group commit (its laned batcher with the default lanes and its heartbeat
// writer, built, over postgres.js),
// with none of the service's HTTP conventions: no validation, hooks, security headers, metrics,
// logging or load shedding. Its ratio to the baseline is what this machine allows a write path
// that commits before answering; the service's own ratio next to it shows what its conventions
// cost on top.
import Fastify from 'fastify'
import { LanedBatcher } from '../../services/analytics/dist/ingest/lanes.js'
import { writeHeartbeats } from '../../services/analytics/dist/ingest/writers.js'
import { isTransient, openDatabase } from '../../shared/dist/index.js'

const database = await openDatabase(
  {
    url: process.env.DATABASE_URL,
    migrateOnStart: false,
    dataDir: 'memory://',
    poolMax: 10,
    statementTimeoutMs: 5000,
    connectTimeoutS: 5,
  },
  {},
)
const app = Fastify({ logger: false })
// The service's defaults: INGEST_LANES 2, INGEST_MAX_BATCH 500, INGEST_MAX_WAIT_MS 0.
const heartbeats = new LanedBatcher(
  2,
  {
    name: 'heartbeats',
    maxBatch: 500,
    maxWaitMs: 0,
    maxQueue: 20_000,
    write: async (ids) => {
      await writeHeartbeats(database.db, ids)
      return ids.map(() => true)
    },
    fallback: true,
    isTransient,
    log: app.log,
  },
  (id) => id,
)
app.patch('/api/v1/analytics/session/:id/heartbeat', async (req) => {
  await heartbeats.submit(req.params.id)
  return { success: true, data: { ok: true } }
})
app.get('/readyz', async () => ({ success: true, data: { status: 'ready' } }))
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' })
process.on('SIGTERM', async () => {
  await app.close()
  await heartbeats.close()
  await database.close()
  process.exit(0)
})
