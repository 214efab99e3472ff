import { ConfigError, openDatabase } from '@bio/service-kit'
import { loadAnalyticsConfig } from './config.js'
import { MIGRATIONS_FOLDER } from './db/migrations.js'
import { schema } from './db/schema.js'
import { runMaintenance } from './maintenance/run-maintenance.js'

/**
 * `npm run analytics:maintain`: one maintenance run (partitions ahead, the default partition
 * emptied, retention) on ANALYTICS_DATABASE_URL or the embedded database (which only one process
 * can open: stop the service first, or let its timer do it). Migrates first, as the service does
 * on start. Prints what it did (counts); exits 1 on a configuration or database error.
 */
try {
  const config = loadAnalyticsConfig(process.env)
  const database = await openDatabase(config.db, schema)
  try {
    if (config.db.migrateOnStart) await database.migrate(MIGRATIONS_FOLDER)
    const report = await runMaintenance(database, { ...config.maintenance, now: new Date() })
    process.stdout.write(
      report
        ? `analytics maintenance (${database.kind}): ${JSON.stringify(report)}\n`
        : 'analytics maintenance: skipped, another instance is running it\n',
    )
  } finally {
    await database.close()
  }
} catch (err) {
  process.stderr.write(`${err instanceof ConfigError ? err.message : String(err)}\n`)
  process.exit(1)
}
