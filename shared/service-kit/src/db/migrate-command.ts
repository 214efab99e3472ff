import type { DatabaseConfig } from '../config/common-env.js'
import { ConfigError } from '../config/load-env.js'
import { openDatabase } from './database.js'

/**
 * The body of each service's `migrate` entry (`npm run migrate`): opens the configured database
 * (PostgreSQL or the embedded one), applies the migrations and exits; a configuration or
 * migration error prints and exits 1.
 */
export async function migrateCommand(
  name: string,
  loadDatabaseConfig: () => DatabaseConfig,
  schema: Record<string, unknown>,
  folder: string,
): Promise<void> {
  try {
    const database = await openDatabase(loadDatabaseConfig(), schema)
    await database.migrate(folder)
    await database.close()
    process.stdout.write(`${name}: migrations applied (${database.kind})\n`)
  } catch (err) {
    process.stderr.write(`${err instanceof ConfigError ? err.message : String(err)}\n`)
    process.exit(1)
  }
}
