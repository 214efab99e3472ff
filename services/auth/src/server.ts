import { openDatabase, serve } from '@bio/service-kit'
import { buildAuthApp } from './app.js'
import { loadAuthConfig } from './config.js'
import { MIGRATIONS_FOLDER } from './db/migrations.js'
import { schema } from './db/schema.js'

await serve(async () => {
  const config = loadAuthConfig(process.env)
  const database = await openDatabase(config.db, schema)
  if (config.db.migrateOnStart) await database.migrate(MIGRATIONS_FOLDER)
  const app = await buildAuthApp({ config, database, closeDatabase: true })
  return {
    app,
    port: config.http.port,
    host: config.http.host,
    shutdownTimeoutMs: config.http.shutdownTimeoutMs,
  }
})
