import { afterAll, beforeAll } from 'vitest'
import type { App } from '../src/index.js'

/** Builds one app for the file (or describe block) in beforeAll, closes it in afterAll; read it in tests. */
export function useBareApp(build: () => Promise<App>): () => App {
  let app: App | undefined
  beforeAll(async () => {
    app = await build()
    await app.ready()
  })
  afterAll(async () => {
    await app?.close()
  })
  return () => {
    if (!app) throw new Error('the app is read before its beforeAll has run')
    return app
  }
}
