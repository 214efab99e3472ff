import { mkdirSync } from 'node:fs'
import { type SQL, sql } from 'drizzle-orm'
import { type PgDatabase, PgDialect, type PgQueryResultHKT } from 'drizzle-orm/pg-core'
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js'
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator'
import postgres from 'postgres'
import type { DatabaseConfig } from '../config/common-env.js'

/** A Drizzle database over either driver. Repositories take this (or a transaction of it). */
export type Db<S extends Record<string, unknown>> = PgDatabase<PgQueryResultHKT, S>

export interface DatabaseHandle<S extends Record<string, unknown>> {
  readonly db: Db<S>
  readonly kind: 'postgres' | 'pglite'
  /** Applies the migrations of `folder` (drizzle-kit output); safe to call on every start. */
  migrate(folder: string): Promise<void>
  /** Cheap round trip for readiness checks. */
  ping(): Promise<void>
  /**
   * LISTENs on `channel` (a dedicated connection on PostgreSQL, re-established after a drop);
   * `onNotify` runs for every NOTIFY and after a reconnect. Resolves to a function that stops it.
   */
  listen(channel: string, onNotify: () => void): Promise<() => Promise<void>>
  close(): Promise<void>
}

/** Longest wait before reconnecting after a failed connection attempt (seconds). */
export const RECONNECT_BACKOFF_MAX_S = 0.5

/**
 * Opens PostgreSQL through postgres.js when `config.url` is set, otherwise the embedded PGlite
 * (real PostgreSQL in WebAssembly) with its data under `config.dataDir` (`memory://` for none).
 */
export async function openDatabase<S extends Record<string, unknown>>(
  config: DatabaseConfig,
  schema: S,
): Promise<DatabaseHandle<S>> {
  if (config.url) {
    const client = postgres(config.url, {
      max: config.poolMax,
      connect_timeout: config.connectTimeoutS,
      // postgres.js delays a connection's next attempt after a failed one by a growing backoff and
      // a query waits for it; capped short, requests recover as soon as the database is back.
      // Connections are only opened for a query, so a short cap costs nothing.
      backoff: (retries: number) => Math.min(0.05 * retries, RECONNECT_BACKOFF_MAX_S),
      idle_timeout: 30,
      max_lifetime: 60 * 30,
      onnotice: () => {},
      // By default every new connection first reads pg_catalog.pg_type (to parse array columns,
      // which no query here returns) and leaves that query's failure unhandled: a statement
      // timeout there ended the process. Off, a connection runs only our statements.
      fetch_types: false,
      connection: { statement_timeout: config.statementTimeoutMs, application_name: 'bio-re' },
    })
    const db = drizzlePostgres(client, { schema })
    return {
      db: db as unknown as Db<S>,
      kind: 'postgres',
      migrate: (folder) => migrateLocked(config.url!, folder),
      ping: async () => {
        await client`select 1`
      },
      listen: async (channel, onNotify) => {
        const { unlisten } = await client.listen(channel, onNotify, onNotify)
        return unlisten
      },
      close: () => client.end({ timeout: 5 }),
    }
  }
  if (!config.dataDir.startsWith('memory://')) mkdirSync(config.dataDir, { recursive: true })
  // Loaded only on this path: PGlite's bundle is large, and a service on PostgreSQL never needs it
  // (it showed in start-up time and idle memory).
  const [{ PGlite }, { drizzle: drizzlePglite }, { migrate: migratePglite }] = await Promise.all([
    import('@electric-sql/pglite'),
    import('drizzle-orm/pglite'),
    import('drizzle-orm/pglite/migrator'),
  ])
  const client = await PGlite.create(config.dataDir)
  const db = drizzlePglite(client, { schema })
  return {
    db: db as unknown as Db<S>,
    kind: 'pglite',
    migrate: (folder) => migratePglite(db, { migrationsFolder: folder }),
    ping: async () => {
      await db.execute(sql`select 1`)
    },
    listen: async (channel, onNotify) => {
      const unlisten = await client.listen(channel, onNotify)
      return unlisten
    },
    close: () => client.close(),
  }
}

/** Any fixed number shared by every instance: serialises migrations started by several instances at once. */
const MIGRATION_LOCK = 7_240_511

/** Runs drizzle's migrator on one dedicated connection that holds a session advisory lock. */
async function migrateLocked(url: string, folder: string): Promise<void> {
  const client = postgres(url, { max: 1, onnotice: () => {} })
  try {
    await client`select pg_advisory_lock(${MIGRATION_LOCK})`
    await migratePostgres(drizzlePostgres(client), { migrationsFolder: folder })
  } finally {
    await client.end({ timeout: 5 })
  }
}

/** Rows of a raw `db.execute(...)`: postgres.js returns an array, PGlite `{ rows }`. */
export function rowsOf<T>(result: unknown): T[] {
  if (Array.isArray(result)) return result as T[]
  return ((result as { rows?: T[] }).rows ?? []) as T[]
}

const dialect = new PgDialect()

/**
 * Runs a raw statement as a named prepared statement on PostgreSQL (postgres.js keeps one per
 * connection and query text), so a statement run over and over (the ingest batch writes) is
 * parsed and planned once per connection instead of every time; on PGlite it is a plain
 * `db.execute`. Returns the rows. Drizzle's `db.execute` never prepares raw SQL, and planning a
 * batch statement costs about as much as executing it.
 */
export async function executePrepared<T>(db: Db<Record<string, unknown>>, query: SQL): Promise<T[]> {
  const client = (db as { $client?: unknown }).$client
  if (isPostgresJs(client)) {
    const { sql: text, params } = dialect.sqlToQuery(query)
    return (await client.unsafe(text, params as postgres.ParameterOrJSON<never>[], { prepare: true })) as T[]
  }
  return rowsOf<T>(await db.execute(query))
}

const isPostgresJs = (client: unknown): client is postgres.Sql =>
  typeof client === 'function' && typeof (client as { unsafe?: unknown }).unsafe === 'function'
