import type { DatabaseHandle } from '@bio/service-kit'
import type { AnalyticsSchema } from '../db/schema.js'

/** Runs one statement; rows as objects. */
export type Query = <T = Record<string, unknown>>(text: string, params?: unknown[]) => Promise<T[]>

/**
 * The one database session the maintenance task runs on, so that the session-level advisory
 * lock it holds and its statements share a connection, and it takes one connection from the
 * pool, whatever the pool's size: on PostgreSQL a connection reserved from the pool; on PGlite
 * the embedded database's single session.
 */
export interface MaintenanceSession {
  query: Query
  /** `fn` in a transaction of its own (committed when it resolves, rolled back when it throws). */
  transaction<T>(fn: (query: Query) => Promise<T>): Promise<T>
  release(): Promise<void>
}

interface ReservedConnection {
  unsafe(text: string, params?: unknown[]): Promise<unknown>
  release(): void
}
interface PostgresJsClient {
  reserve(): Promise<ReservedConnection>
}
interface PgliteClient {
  query<T>(text: string, params?: unknown[]): Promise<{ rows: T[] }>
  transaction<T>(fn: (tx: PgliteClient) => Promise<T>): Promise<T>
}

export async function openMaintenanceSession(
  database: DatabaseHandle<AnalyticsSchema>,
): Promise<MaintenanceSession> {
  const client = (database.db as unknown as { $client: unknown }).$client
  if (database.kind === 'pglite') {
    const pglite = client as PgliteClient
    const on =
      (c: PgliteClient): Query =>
      async <T>(text: string, params?: unknown[]) =>
        (await c.query<T>(text, params)).rows
    return {
      query: on(pglite),
      transaction: (fn) => pglite.transaction((tx) => fn(on(tx))),
      release: async () => {},
    }
  }
  // postgres.js's reserve() waits for a connection to come free and does not open one itself: a
  // pool that has not connected yet (a command, a fresh instance) would wait for ever. A round
  // trip first opens one, which reserve() then takes.
  await database.ping()
  const conn = await (client as PostgresJsClient).reserve()
  const query: Query = async <T>(text: string, params?: unknown[]) => (await conn.unsafe(text, params)) as T[]
  return {
    query,
    async transaction(fn) {
      await query('begin')
      try {
        const result = await fn(query)
        await query('commit')
        return result
      } catch (err) {
        await query('rollback').catch(() => {})
        throw err
      }
    },
    release: async () => conn.release(),
  }
}
