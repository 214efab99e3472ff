import { type DatabaseHandle, openDatabase } from '@bio/shared'
import { createTestDatabase, type TestDatabase } from '@bio/shared/testing'
import { buildAuthApp } from '../src/app.js'
import { type AuthConfig, loadAuthConfig } from '../src/config.js'
import { MIGRATIONS_FOLDER } from '../src/db/migrations.js'
import { type AuthSchema, schema } from '../src/db/schema.js'
import { argon2Hasher } from '../src/domain/password-hasher.js'

export const TEST_SECRET = 'test-secret-that-is-at-least-32-bytes-long!!'

/** Cheap argon2id parameters: the same code path, milliseconds instead of tens of them. */
export const fastHasher = () => argon2Hasher({ memoryCost: 1024, timeCost: 1, parallelism: 1 })

export function testConfig(env: Record<string, string> = {}, dbUrl?: string): AuthConfig {
  return loadAuthConfig({
    NODE_ENV: 'test',
    JWT_SECRET: TEST_SECRET,
    LOG_LEVEL: 'silent',
    ...(dbUrl ? { AUTH_DATABASE_URL: dbUrl } : {}),
    ...env,
  })
}

export interface AuthHarness {
  testDb: TestDatabase
  database: DatabaseHandle<AuthSchema>
  build(options?: { env?: Record<string, string>; now?: () => Date }): ReturnType<typeof buildAuthApp>
  close(): Promise<void>
}

/** A fresh migrated PostgreSQL database for one test file, and a builder for apps over it. */
export async function authHarness(): Promise<AuthHarness> {
  const testDb = await createTestDatabase('auth')
  const database = await openDatabase(testConfig({}, testDb.url).db, schema)
  await database.migrate(MIGRATIONS_FOLDER)
  const apps: Awaited<ReturnType<typeof buildAuthApp>>[] = []
  return {
    testDb,
    database,
    async build(options = {}) {
      const config = testConfig({ RATE_LIMIT_ENABLED: 'false', ...options.env }, testDb.url)
      const app = await buildAuthApp({
        config,
        database,
        hasher: fastHasher(),
        now: options.now,
        logger: false,
      })
      apps.push(app)
      return app
    },
    async close() {
      await Promise.all(apps.map((a) => a.close()))
      await database.close()
      await testDb.drop()
    },
  }
}

let counter = 0
/** A valid registration body with a unique e-mail. */
export function newUser(overrides: Record<string, unknown> = {}) {
  counter += 1
  return {
    email: `user${counter}.${Date.now()}@example.com`,
    password: 'Correct-Horse1',
    acceptedTerms: true,
    acceptedPrivacy: true,
    ...overrides,
  }
}
