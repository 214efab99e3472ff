import type { MigratedTestDatabase } from './database.js'

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
