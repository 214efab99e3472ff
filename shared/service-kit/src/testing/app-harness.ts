import type { DatabaseConfig } from '../config/common-env.js'
import { type MigratedTestDatabase, migratedTestDatabase } from './database.js'

/** A migrated test database and a builder for apps over it; `close()` closes every app, then the database. */
export interface AppHarness<S extends Record<string, unknown>, Options, App>
  extends Omit<MigratedTestDatabase<S>, 'close'> {
  build(options?: Options): Promise<App>
  close(): Promise<void>
}

/**
 * The harness a service's tests share per file: `buildApp` builds one app over `migrated` (the
 * service supplies its config and defaults); every app built is closed before the database goes.
 */
export function appHarness<
  S extends Record<string, unknown>,
  Options,
  App extends { close(): PromiseLike<unknown> },
>(
  migrated: MigratedTestDatabase<S>,
  buildApp: (options: Options) => Promise<App>,
  defaults: Options,
): AppHarness<S, Options, App> {
  const apps: App[] = []
  return {
    testDb: migrated.testDb,
    database: migrated.database,
    async build(options = defaults) {
      const app = await buildApp(options)
      apps.push(app)
      return app
    },
    async close() {
      await Promise.all(apps.map((a) => a.close()))
      await migrated.close()
    },
  }
}

/** What a service tells `serviceHarness`: its database, its migrations and how it builds an app. */
export interface ServiceHarnessSpec<S extends Record<string, unknown>, Options, App> {
  /** Prefix of the test database's name. */
  prefix: string
  databaseConfig: (url: string) => DatabaseConfig
  schema: S
  migrationsFolder: string
  /** Builds one app over the migrated database with the test's options. */
  build: (options: Options, migrated: MigratedTestDatabase<S>) => Promise<App>
  defaults: Options
}

/** A fresh migrated PostgreSQL database for one test file, and a builder for apps over it. */
export async function serviceHarness<
  S extends Record<string, unknown>,
  Options,
  App extends { close(): PromiseLike<unknown> },
>(spec: ServiceHarnessSpec<S, Options, App>): Promise<AppHarness<S, Options, App>> {
  const migrated = await migratedTestDatabase(
    spec.prefix,
    spec.databaseConfig,
    spec.schema,
    spec.migrationsFolder,
  )
  return appHarness(migrated, (options: Options) => spec.build(options, migrated), spec.defaults)
}
