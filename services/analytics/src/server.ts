import { openDatabase, serve } from '@bio/service-kit'
import { buildAnalyticsApp } from './app.js'
import { loadAnalyticsConfig } from './config.js'
import { MIGRATIONS_FOLDER } from './db/migrations.js'
import { schema } from './db/schema.js'

await serve(async () => {
  const config = loadAnalyticsConfig(process.env)
  const database = await openDatabase(config.db, schema)
  if (config.db.migrateOnStart) await database.migrate(MIGRATIONS_FOLDER)
  const app = await buildAnalyticsApp({ config, database, closeDatabase: true })
  return {
    app,
    port: config.http.port,
    host: config.http.host,
    shutdownTimeoutMs: config.http.shutdownTimeoutMs,
  }
})
