// A second reference for the heartbeat route: bare Fastify (like the baseline) in front of the
// analytics service's own write path (its ingest pipeline, built, with the configuration the
// service reads from the same environment, over postgres.js), with none of the service's HTTP
// conventions: no validation, hooks, security headers, metrics, logging or load shedding. Its
// ratio to the baseline is what this machine allows a write path that commits before answering;
// the service's own ratio next to it shows what its conventions cost on top.

import { openDatabase } from '@bio/service-kit'
import Fastify from 'fastify'
import { loadAnalyticsConfig } from '../../services/analytics/dist/config.js'
import { schema } from '../../services/analytics/dist/db/schema.js'
import { createIngestPipeline } from '../../services/analytics/dist/ingest/ingest-pipeline.js'
import { isoMicros, preciseNow } from '../../services/analytics/dist/lib/clock.js'

const config = loadAnalyticsConfig(process.env)
const database = await openDatabase(config.db, schema)
const app = Fastify({ logger: false })
const ingest = createIngestPipeline(database.db, config.ingest, app.log, database.ping)
app.patch('/api/v1/analytics/session/:id/heartbeat', async (req) => {
  // The item the service's heartbeat route submits for a beat without a body.
  await ingest.heartbeats.submit({ id: req.params.id, seq: null, at: isoMicros(preciseNow()) })
  return { success: true, data: { ok: true } }
})
app.get('/readyz', async () => ({ success: true, data: { status: 'ready' } }))
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' })
process.on('SIGTERM', async () => {
  await app.close()
  await ingest.close()
  await database.close()
  process.exit(0)
})
