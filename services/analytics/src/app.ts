import { readFileSync } from 'node:fs'
import {
  createServiceApp,
  type DatabaseHandle,
  type GeoLookup,
  noGeoLookup,
  openDatabase,
  openGeoLookup,
  type ServiceAppOptions,
  verifierOptions,
} from '@bio/service-kit'
import { type AccessTokenVerifierOptions, accessTokenPlugin } from '@bio/token-verifier'
import type { AnalyticsConfig } from './config.js'
import { type AnalyticsSchema, schema } from './db/schema.js'
import { createAnalyticsService } from './domain/analytics-service.js'
import { createErasureService } from './erasure/erasure-service.js'
import { createIngestPipeline, type IngestPipeline } from './ingest/ingest-pipeline.js'
import { monotonic, preciseNow } from './lib/clock.js'
import { type MaintenanceScheduler, maintenanceScheduler } from './maintenance/maintenance-scheduler.js'
import { analyticsRoutes } from './routes/analytics-routes.js'
import { erasureRoutes } from './routes/erasure-routes.js'
import { ANALYTICS_PREFIX } from './routes/prefix.js'
import { trackerRoutes } from './routes/tracker-routes.js'

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The write path: its batchers' figures and the database breaker (metrics, tests). */
    ingest: IngestPipeline
    /** Partitions ahead, strays out of the default partition, retention (`run()` for tests and the command). */
    maintenance: MaintenanceScheduler
  }
}

export interface BuildAnalyticsAppOptions {
  config: AnalyticsConfig
  /** An open database; by default one is opened from `config.db`. */
  database?: DatabaseHandle<AnalyticsSchema>
  geo?: GeoLookup
  /** Epoch milliseconds; tests pin it. */
  now?: () => number
  logger?: ServiceAppOptions['logger']
  /** JWKS client overrides (tests inject the clock and the HTTP client). */
  jwks?: Partial<NonNullable<AccessTokenVerifierOptions['jwks']>>
  /** Close the database with the app (after queued writes are flushed); default: when the app opened it. */
  closeDatabase?: boolean
}

/** Builds the analytics ingest service: shared HTTP conventions, local token verification, the ingest routes. */
export async function buildAnalyticsApp(options: BuildAnalyticsAppOptions) {
  const { config } = options
  const database = options.database ?? (await openDatabase(config.db, schema))
  let ingest: IngestPipeline | undefined
  let maintenance: MaintenanceScheduler | undefined
  const app = await createServiceApp({
    name: 'analytics',
    title: 'BIO.RE analytics ingest service',
    description: 'Anonymous sessions, pageviews, page-leave beacons, heartbeats and identify.',
    version,
    http: config.http,
    bodyLimit: config.bodyLimit,
    ready: database.ping,
    logger: options.logger,
    resourcePolicy: 'cross-origin',
    gauges: {
      ingest_batcher: {
        help: 'Group-commit figures per batcher: batches, items, retries, failedItems, rejected, queued, largestBatch',
        labelNames: ['batcher', 'stat'],
        read: () =>
          Object.entries(ingest?.stats() ?? {}).flatMap(([batcher, stats]) =>
            Object.entries(stats).map(([stat, value]): [Record<string, string>, number] => [
              { batcher, stat },
              value,
            ]),
          ),
      },
      ingest_pageview_table: {
        help: 'Pageview and leave batches since start by the table their statement ran on: partition (the month partition itself, once its statistics allow), parent (analytics_pageviews); missing: of those on the parent, the ones that first named a partition that did not exist',
        labelNames: ['table'],
        read: () =>
          Object.entries(ingest?.partitions.stats ?? {}).map(
            ([table, value]): [Record<string, string>, number] => [{ table }, value],
          ),
      },
      analytics_maintenance: {
        help: 'Maintenance totals since start: runs, skipped (another instance held the lock), failures, partitionsCreated, strayRowsMoved, partitionsDropped, pageViewsDeleted, sessionsDeleted, tombstonesDeleted',
        labelNames: ['stat'],
        read: () =>
          Object.entries(maintenance?.stats() ?? {}).map(
            ([stat, value]): [Record<string, string>, number] => [{ stat }, value],
          ),
      },
    },
  })
  ingest = createIngestPipeline(database.db, config.ingest, app.log, database.ping)
  const pipeline = ingest
  app.decorate('ingest', pipeline)
  const now = options.now ?? preciseNow
  const tasks = maintenanceScheduler(database, config.maintenance, app.log, now)
  maintenance = tasks
  app.decorate('maintenance', tasks)
  app.addHook('onReady', async () => tasks.start())
  // A maintenance run in progress ends, and queued writes are flushed, before the database
  // closes: an acknowledged write is committed.
  app.addHook('onClose', async () => {
    await tasks.stop()
    await pipeline.close()
    if (options.closeDatabase ?? !options.database) await database.close()
  })

  const geo = options.geo ?? (config.geoipDbPath ? await openGeoLookup(config.geoipDbPath) : noGeoLookup)
  // One monotonic clock for the ingest rules and erasure (the maintenance task reads `now` itself).
  const ingestNow = monotonic(now)
  const service = createAnalyticsService({ config, ingest: pipeline, geo, now: ingestNow })
  const erasure = createErasureService({
    db: database.db,
    visitorHashSecret: config.visitorHashSecret,
    now: ingestNow,
  })
  await app.register(accessTokenPlugin, verifierOptions(config.tokens, options.jwks))
  await app.register(analyticsRoutes, { prefix: ANALYTICS_PREFIX, service })
  await app.register(erasureRoutes, { prefix: ANALYTICS_PREFIX, erasure })
  await app.register(trackerRoutes)
  return app
}
