import { afterAll, beforeAll } from 'vitest'
import type { AppHarness } from './app-harness.js'

/** What a test file's harness handle gives its tests: the harness itself, plus the default app. */
export type HarnessHandle<S extends Record<string, unknown>, Options, App> = AppHarness<S, Options, App> & {
  /** The app built with the file's options (absent when the file asked for none). */
  readonly app: App
}

export interface UseHarnessOptions<Options> {
  /** The options of the default app, or `false` for no default app (the file builds its own). */
  app?: Options | false
}

/**
 * Registers the file's `beforeAll` (make the harness, build the default app) and `afterAll`
 * (close every app, drop the database), and returns a handle that forwards to the harness once
 * it exists. Read it inside hooks and tests only: before `beforeAll` has run it throws.
 */
export function useHarness<
  S extends Record<string, unknown>,
  Options,
  App extends { ready(): PromiseLike<unknown> },
>(
  create: () => Promise<AppHarness<S, Options, App>>,
  options: UseHarnessOptions<Options> = {},
): HarnessHandle<S, Options, App> {
  let harness: AppHarness<S, Options, App> | undefined
  let app: App | undefined
  const current = () => {
    if (!harness) throw new Error('the harness is read before its beforeAll has run')
    return harness
  }
  beforeAll(async () => {
    harness = await create()
    if (options.app !== false) {
      app = await harness.build(options.app)
      await app.ready()
    }
  })
  afterAll(async () => {
    await harness?.close()
  })
  return {
    get testDb() {
      return current().testDb
    },
    get database() {
      return current().database
    },
    get app() {
      if (!app) throw new Error(options.app === false ? 'this file asked for no default app' : 'no app yet')
      return app
    },
    build: (buildOptions) => current().build(buildOptions),
    close: () => current().close(),
  }
}
