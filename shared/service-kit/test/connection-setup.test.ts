import { randomBytes } from 'node:crypto'
import { sql } from 'drizzle-orm'
import postgres from 'postgres'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type DatabaseConfig, type DatabaseHandle, openDatabase, rowsOf } from '../src/index.js'
import { createTestDatabase, type TestDatabase } from '../src/testing/index.js'

/**
 * A new postgres.js connection must run nothing but our own statements. By default the driver
 * reads pg_catalog.pg_type on every new connection (to parse array columns) and does not handle
 * that query's failure: a statement timeout or a permission error there became an unhandled
 * rejection, which ends a Node process. Here the role may not read pg_type, so that query would
 * fail on every connection.
 */
describe('a new database connection', () => {
  let testDb: TestDatabase
  let database: DatabaseHandle<Record<string, never>>
  const role = `r_${randomBytes(6).toString('hex')}`
  const unhandled: unknown[] = []
  const onUnhandled = (reason: unknown) => unhandled.push(reason)

  beforeAll(async () => {
    testDb = await createTestDatabase('conn')
    const admin = postgres(testDb.url, { max: 1, onnotice: () => {} })
    try {
      await admin.unsafe(`create role ${role} login`)
      await admin.unsafe('revoke select on pg_catalog.pg_type from public')
    } finally {
      await admin.end()
    }
    const url = new URL(testDb.url)
    url.username = role
    const config: DatabaseConfig = {
      url: url.toString(),
      migrateOnStart: false,
      dataDir: 'memory://',
      poolMax: 2,
      statementTimeoutMs: 5000,
      connectTimeoutS: 5,
    }
    process.on('unhandledRejection', onUnhandled)
    database = await openDatabase(config, {})
  })
  afterAll(async () => {
    process.off('unhandledRejection', onUnhandled)
    await database?.close()
    await testDb?.drop()
    const admin = postgres(testDb.url.replace(/\/[^/]*$/, '/postgres'), { max: 1, onnotice: () => {} })
    await admin.unsafe(`drop role if exists ${role}`).finally(() => admin.end())
  })

  it('runs queries without reading the type catalogue, and leaves no unhandled rejection', async () => {
    const denied = await database.db.execute(
      sql`select has_table_privilege('pg_catalog.pg_type', 'select') as ok`,
    )
    expect(rowsOf<{ ok: boolean }>(denied)).toEqual([{ ok: false }])
    // Both pool connections, opened concurrently.
    await Promise.all([database.ping(), database.ping(), database.ping()])
    await new Promise((resolve) => setImmediate(resolve))
    expect(unhandled).toEqual([])
  })
})
