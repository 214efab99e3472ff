import postgres from 'postgres'

export interface TableLock {
  /** Ends the locking transaction and its connection. */
  release(): Promise<void>
}

/**
 * Takes an ACCESS EXCLUSIVE lock on `table` from a separate connection and holds it until
 * `release()`: every statement on the table waits meanwhile, which is how tests make a query
 * that cannot finish (statement timeouts, shutdown budgets, error logging).
 */
export const lockTable = (url: string, table: string): Promise<TableLock> =>
  holdLocks(url, `lock table "${table}" in access exclusive mode`)

/**
 * Runs `statement` (a LOCK TABLE, a `select ... for update` of some rows) in a transaction of a
 * separate connection and keeps that transaction open until `release()`: what conflicts with its
 * locks waits meanwhile.
 */
export async function holdLocks(url: string, statement: string): Promise<TableLock> {
  const locker = postgres(url, { max: 1, onnotice: () => {} })
  let release!: () => void
  const released = new Promise<void>((resolve) => {
    release = resolve
  })
  let locked!: () => void
  const isLocked = new Promise<void>((resolve) => {
    locked = resolve
  })
  const holder = locker.begin(async (tx) => {
    await tx.unsafe(statement)
    locked()
    await released
  })
  await Promise.race([isLocked, holder])
  return {
    async release() {
      release()
      await holder
      await locker.end()
    },
  }
}
