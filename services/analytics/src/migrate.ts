import { migrateCommand } from '@bio/service-kit'
import { loadAnalyticsConfig } from './config.js'
import { MIGRATIONS_FOLDER } from './db/migrations.js'
import { schema } from './db/schema.js'

/** `npm run migrate`: applies the analytics migrations to ANALYTICS_DATABASE_URL (or the embedded database). */
await migrateCommand('analytics', () => loadAnalyticsConfig(process.env).db, schema, MIGRATIONS_FOLDER)
