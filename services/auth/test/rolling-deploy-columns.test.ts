import { rowsOf } from '@bio/service-kit'
import { sql } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { registerUser, useAuthHarness } from './helper.js'

/**
 * Migration 0002 moves the lockout to login_throttles but keeps users.login_attempts and
 * users.locked_until for one release: with MIGRATE_ON_START, instances of the previous release
 * still read and write them while the new one rolls out. A later release drops them.
 */

const h = useAuthHarness()

describe('the columns the previous release uses', () => {
  it('still exist after every migration, and its lockout statements still run', async () => {
    const columns = await h.database.db.execute(sql`
      select column_name from information_schema.columns
      where table_name = 'users' and column_name in ('login_attempts', 'locked_until')
      order by column_name`)
    expect(rowsOf<{ column_name: string }>(columns).map((r) => r.column_name)).toEqual([
      'locked_until',
      'login_attempts',
    ])
    // What the previous release does on a failed and on a successful sign-in.
    const user = await registerUser(h.app)
    await h.database.db.execute(sql`
      update users set login_attempts = login_attempts + 1, locked_until = now() where id = ${user.userId}`)
    await h.database.db.execute(sql`
      update users set login_attempts = 0, locked_until = null where id = ${user.userId}`)
  })
})
