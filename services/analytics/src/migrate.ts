import { ConfigError, openDatabase } from '@bio/shared'
import { loadAnalyticsConfig } from './config.js'
import { MIGRATIONS_FOLDER } from './db/migrations.js'
import { schema } from './db/schema.js'

/** `npm run migrate`: applies the analytics migrations to ANALYTICS_DATABASE_URL (or the embedded database). */
try {
  const config = loadAnalyticsConfig(process.env)
  const database = await openDatabase(config.db, schema)
  await database.migrate(MIGRATIONS_FOLDER)
  await database.close()
  process.stdout.write(`analytics: migrations applied (${database.kind})\n`)
} catch (err) {
  process.stderr.write(`${err instanceof ConfigError ? err.message : String(err)}\n`)
  process.exit(1)
}
