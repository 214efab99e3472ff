import { randomBytes } from 'node:crypto'
import postgres from 'postgres'
import type { DatabaseConfig } from '../config/common-env.js'
import { type DatabaseHandle, openDatabase } from '../db/database.js'

/** Server the tests use; CI starts it when it is down. */
export const TEST_ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

export interface TestDatabase {
  url: string
  name: string
  drop(): Promise<void>
}

/** A fresh, empty database on the test server; each test file makes its own, so files never share state. */
export async function createTestDatabase(prefix: string): Promise<TestDatabase> {
  const name = `t_${prefix}_${randomBytes(6).toString('hex')}`
  const admin = postgres(TEST_ADMIN_URL, { max: 1, onnotice: () => {} })
  try {
    await admin.unsafe(`create database "${name}"`)
  } finally {
    await admin.end()
  }
  const url = new URL(TEST_ADMIN_URL)
  url.pathname = `/${name}`
  return {
    url: url.toString(),
    name,
    async drop() {
      const a = postgres(TEST_ADMIN_URL, { max: 1, onnotice: () => {} })
      try {
        await a.unsafe(`drop database if exists "${name}" with (force)`)
      } finally {
        await a.end()
      }
    },
  }
}

export interface MigratedTestDatabase<S extends Record<string, unknown>> {
  testDb: TestDatabase
  database: DatabaseHandle<S>
  /** Closes the handle and drops the database. */
  close(): Promise<void>
}

/** A fresh test database, opened with the service's own database config and migrated. */
export async function migratedTestDatabase<S extends Record<string, unknown>>(
  prefix: string,
  configFor: (url: string) => DatabaseConfig,
  schema: S,
  migrationsFolder: string,
): Promise<MigratedTestDatabase<S>> {
  const testDb = await createTestDatabase(prefix)
  const database = await openDatabase(configFor(testDb.url), schema)
  await database.migrate(migrationsFolder)
  return {
    testDb,
    database,
    async close() {
      await database.close()
      await testDb.drop()
    },
  }
}
