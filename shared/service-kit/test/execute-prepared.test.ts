import { sql } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type DatabaseConfig, type DatabaseHandle, executePrepared, openDatabase } from '../src/index.js'
import { createTestDatabase, type TestDatabase } from '../src/testing/index.js'

const config = (url: string | undefined): DatabaseConfig => ({
  url,
  migrateOnStart: false,
  dataDir: 'memory://',
  // One connection: the prepared statements of a postgres.js connection are per connection.
  poolMax: 1,
  statementTimeoutMs: 5000,
  connectTimeoutS: 5,
})

const MARKER = 'execute_prepared_marker'
const statement = (n: number) => sql`select ${n}::int + 1 as next, ${sql.raw(`'${MARKER}'`)} as marker`

describe('executePrepared on PostgreSQL', () => {
  let testDb: TestDatabase
  let database: DatabaseHandle<Record<string, never>>
  beforeAll(async () => {
    testDb = await createTestDatabase('prepared')
    database = await openDatabase(config(testDb.url), {})
  })
  afterAll(async () => {
    await database?.close()
    await testDb?.drop()
  })

  it('returns the rows, and runs one statement text as one server-side prepared statement', async () => {
    for (const n of [1, 2, 3]) {
      expect(await executePrepared<{ next: number }>(database.db, statement(n))).toEqual([
        { next: n + 1, marker: MARKER },
      ])
    }
    const prepared = await executePrepared<{ statement: string }>(
      database.db,
      sql`select statement from pg_prepared_statements where statement like ${`%${MARKER}%`}`,
    )
    // Parsed and planned once for three executions (the LIKE query's own text holds only `$1`).
    expect(prepared).toHaveLength(1)
  })

  it('a failing statement rejects with the server error and leaves the connection usable', async () => {
    await expect(executePrepared(database.db, sql`select 1 / ${0}::int`)).rejects.toMatchObject({
      code: '22012',
    })
    expect(await executePrepared<{ ok: number }>(database.db, sql`select 1 as ok`)).toEqual([{ ok: 1 }])
  })
})

describe('executePrepared on PGlite', () => {
  let database: DatabaseHandle<Record<string, never>>
  // Starting PGlite takes seconds on a busy machine: in the hook, not in the test's time limit.
  beforeAll(async () => {
    database = await openDatabase(config(undefined), {})
  })
  afterAll(async () => {
    await database?.close()
  })

  it('runs the statement through db.execute and returns the rows', async () => {
    expect(database.kind).toBe('pglite')
    expect(await executePrepared<{ next: number }>(database.db, statement(41))).toEqual([
      { next: 42, marker: MARKER },
    ])
  })
})
