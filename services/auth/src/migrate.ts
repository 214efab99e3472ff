import { migrateCommand } from '@bio/service-kit'
import { loadAuthConfig } from './config.js'
import { MIGRATIONS_FOLDER } from './db/migrations.js'
import { schema } from './db/schema.js'

/** `npm run migrate`: applies the auth migrations to AUTH_DATABASE_URL (or the embedded database). */
await migrateCommand('auth', () => loadAuthConfig(process.env).db, schema, MIGRATIONS_FOLDER)
