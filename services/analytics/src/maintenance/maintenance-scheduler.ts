import type { DatabaseHandle } from '@bio/service-kit'
import type { FastifyBaseLogger } from 'fastify'
import type { MaintenanceConfig } from '../config.js'
import type { AnalyticsSchema } from '../db/schema.js'
import { type MaintenanceReport, runMaintenance } from './run-maintenance.js'

/** Totals since start, for the metrics. */
export interface MaintenanceStats {
  runs: number
  skipped: number
  failures: number
  partitionsCreated: number
  strayRowsMoved: number
  partitionsDropped: number
  pageViewsDeleted: number
  sessionsDeleted: number
  tombstonesDeleted: number
}

export interface MaintenanceScheduler {
  /** One run now (the timer's runs share it): its report, or undefined when another instance holds the lock. */
  run(): Promise<MaintenanceReport | undefined>
  /** Runs now and then every `intervalMs`; nothing when that is 0. */
  start(): void
  /** Stops the timer and waits for a run in progress. */
  stop(): Promise<void>
  stats(): MaintenanceStats
}

/**
 * The maintenance task inside the service: a run at start and every ANALYTICS_MAINTENANCE_INTERVAL_MS
 * on each instance (the advisory lock lets one through at a time). A failed run is logged and
 * counted; the next one tries again. Logs counts only.
 */
export function maintenanceScheduler(
  database: DatabaseHandle<AnalyticsSchema>,
  config: MaintenanceConfig,
  log: FastifyBaseLogger,
  now: () => number,
): MaintenanceScheduler {
  const totals: MaintenanceStats = {
    runs: 0,
    skipped: 0,
    failures: 0,
    partitionsCreated: 0,
    strayRowsMoved: 0,
    partitionsDropped: 0,
    pageViewsDeleted: 0,
    sessionsDeleted: 0,
    tombstonesDeleted: 0,
  }
  let timer: NodeJS.Timeout | undefined
  let current: Promise<MaintenanceReport | undefined> | undefined

  const once = async (): Promise<MaintenanceReport | undefined> => {
    const report = await runMaintenance(database, { ...config, now: new Date(now()) })
    if (!report) {
      totals.skipped++
      return undefined
    }
    totals.runs++
    totals.partitionsCreated += report.partitionsCreated
    totals.strayRowsMoved += report.strayRowsMoved
    totals.partitionsDropped += report.partitionsDropped.length
    totals.pageViewsDeleted += report.pageViewsDeleted
    totals.sessionsDeleted += report.sessionsDeleted
    totals.tombstonesDeleted += report.tombstonesDeleted
    log.info({ maintenance: report }, 'analytics maintenance done')
    return report
  }
  const run = () => {
    current ??= once().finally(() => {
      current = undefined
    })
    return current
  }
  const background = () =>
    void run().catch((err: Error) => {
      totals.failures++
      log.warn({ err: { message: err.message } }, 'analytics maintenance failed; the next run tries again')
    })

  return {
    run,
    start() {
      if (config.intervalMs === 0) return
      background()
      if (config.intervalMs > 0) timer = setInterval(background, config.intervalMs).unref()
    },
    async stop() {
      clearInterval(timer)
      await current?.catch(() => {})
    },
    stats: () => ({ ...totals }),
  }
}
