import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { argon2id } from '@noble/hashes/argon2.js'
import argon2 from 'argon2'
import { sql } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { MIGRATIONS_FOLDER } from '../src/db/migrations.js'
import { formatArgon2Phc, parseArgon2Phc, toStandardOrder } from '../src/domain/phc-argon2.js'
import { login, registerUser, setUserFields, useAuthHarness, userById } from './helper.js'

/**
 * Stored hashes are standard PHC strings that another argon2 implementation can read: checked
 * with a strict parser (order enforced) and @noble/hashes' pure-JS argon2id, which shares no code
 * with the `argon2` addon that made them. The migration that reorders old hashes is run here too.
 */

const h = useAuthHarness()

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64').replace(/=+$/, '')

/** What an independent implementation computes for the parameters and salt of `phc`. */
function independentPhc(phc: string, password: string): string {
  const parsed = parseArgon2Phc(phc)
  expect(parsed, phc).toBeDefined()
  const { memoryCost: m, timeCost: t, parallelism: p, salt, hash } = parsed!
  const digest = argon2id(password, salt, { m, t, p, dkLen: hash.length, version: parsed!.version })
  return `$argon2id$v=19$m=${m},t=${t},p=${p}$${b64(salt)}$${b64(digest)}`
}

/** node-argon2's own output, in its `m,p,t` order: what databases hold from before. */
const legacyHash = (password: string) =>
  argon2.hash(password, { type: argon2.argon2id, memoryCost: 1024, timeCost: 1, parallelism: 1 })

describe('stored hashes', () => {
  it('are exactly the standard PHC string an independent argon2id computes', async () => {
    const user = await registerUser(h.app)
    const stored = (await userById(h, user.userId))!.passwordHash!
    expect(stored).toMatch(/^\$argon2id\$v=19\$m=1024,t=1,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/)
    expect(stored).toBe(independentPhc(stored, user.password))
    expect(independentPhc(stored, 'Another-Password1')).not.toBe(stored)
  })

  it('an old-order hash still signs in, and the sign-in stores the standard form', async () => {
    const user = await registerUser(h.app)
    const old = await legacyHash(user.password)
    expect(old).toContain('m=1024,p=1,t=1')
    await setUserFields(h, user.userId, { passwordHash: old })
    expect((await login(h.app, user.email, user.password)).statusCode).toBe(200)
    const rewritten = (await userById(h, user.userId))!.passwordHash!
    expect(parseArgon2Phc(rewritten)).toBeDefined()
    expect(rewritten).toBe(independentPhc(rewritten, user.password))
  })

  it('an old-order hash with the current parameters is reordered, not hashed again', async () => {
    const user = await registerUser(h.app)
    const old = await legacyHash(user.password)
    await setUserFields(h, user.userId, { passwordHash: old })
    expect((await login(h.app, user.email, user.password)).statusCode).toBe(200)
    // Same salt and digest: only the parameter order changed.
    expect((await userById(h, user.userId))!.passwordHash).toBe(toStandardOrder(old))
    expect(toStandardOrder(old)).not.toBe(old)
  })
})

describe('the strict PHC parser', () => {
  const good =
    '$argon2id$v=19$m=1024,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$q+zeE8LX5EckckRoqMxla5jVGYhnRISvAVZuSefOY2Q'

  it('round-trips a standard string exactly', () => {
    expect(formatArgon2Phc(parseArgon2Phc(good)!)).toBe(good)
  })

  it.each([
    ['node-argon2 order', good.replace('m=1024,t=1,p=1', 'm=1024,p=1,t=1')],
    ['another order', good.replace('m=1024,t=1,p=1', 't=1,m=1024,p=1')],
    ['a missing parameter', good.replace('m=1024,t=1,p=1', 'm=1024,t=1')],
    ['an extra parameter', good.replace('p=1', 'p=1,k=2')],
    ['a leading zero', good.replace('m=1024', 'm=01024')],
    ['padding', good.replace('$q+ze', '$q+ze').replace(/Y2Q$/, 'Y2Q=')],
    ['base64url characters', good.replace('q+ze', 'q-ze')],
    ['no version', good.replace('$v=19', '')],
    ['an unknown version', good.replace('v=19', 'v=18')],
    ['an unknown variant', good.replace('argon2id', 'argon2x')],
    ['a salt shorter than 8 bytes', good.replace('c29tZXNhbHRzb21lc2FsdA', 'c2FsdA')],
    ['trailing text', `${good}$`],
    ['zero passes', good.replace('t=1', 't=0')],
  ])('refuses %s', (_what, phc) => {
    expect(parseArgon2Phc(phc)).toBeUndefined()
  })

  it('toStandardOrder only reorders node-argon2 strings and leaves anything else alone', () => {
    expect(toStandardOrder(good.replace('m=1024,t=1,p=1', 'm=1024,p=1,t=1'))).toBe(good)
    expect(toStandardOrder(good)).toBe(good)
    expect(toStandardOrder('$2b$10$abcdefghijklmnopqrstuv')).toBe('$2b$10$abcdefghijklmnopqrstuv')
  })
})

describe('migration 0003 (PHC parameter order)', () => {
  const migrationSql = readFileSync(join(MIGRATIONS_FOLDER, '0003_phc_param_order.sql'), 'utf8')
  const statements = migrationSql.split('--> statement-breakpoint').map((s) => s.trim())

  async function runMigration(): Promise<void> {
    await h.database.db.transaction(async (tx) => {
      for (const statement of statements) await tx.execute(sql.raw(statement))
    })
  }

  it('reorders old hashes in place, leaves others alone, and is idempotent', async () => {
    const [a, b, c, d] = await Promise.all([1, 2, 3, 4].map(() => registerUser(h.app)))
    const oldA = await legacyHash(a!.password)
    const oldB = (await legacyHash(b!.password)).replace('m=1024,p=1,t=1', 'm=1024,p=4,t=3')
    const bcrypt = '$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy'
    await setUserFields(h, a!.userId, { passwordHash: oldA })
    await setUserFields(h, b!.userId, { passwordHash: oldB })
    await setUserFields(h, c!.userId, { passwordHash: null })
    await setUserFields(h, d!.userId, { passwordHash: bcrypt })

    const before = await Promise.all([a, b, c, d].map(async (u) => (await userById(h, u!.userId))!))
    await runMigration()
    const afterOnce = await Promise.all([a, b, c, d].map(async (u) => (await userById(h, u!.userId))!))
    expect(afterOnce[0]!.passwordHash).toBe(toStandardOrder(oldA))
    expect(afterOnce[0]!.passwordHash).toContain('m=1024,t=1,p=1')
    expect(afterOnce[0]!.passwordHash).toBe(independentPhc(afterOnce[0]!.passwordHash!, a!.password))
    expect(afterOnce[1]!.passwordHash).toContain('$m=1024,t=3,p=4$')
    expect(afterOnce[1]!.passwordHash!.split('$').slice(4)).toEqual(oldB.split('$').slice(4))
    expect(afterOnce[2]!.passwordHash).toBeNull()
    expect(afterOnce[3]!.passwordHash).toBe(bcrypt)
    // Nothing else on the rows changed: the reordering is the whole migration.
    for (const [i, row] of afterOnce.entries())
      expect(row).toEqual({ ...before[i]!, passwordHash: row.passwordHash })

    await runMigration()
    const afterTwice = await Promise.all([a, b, c, d].map(async (u) => (await userById(h, u!.userId))!))
    expect(afterTwice.map((r) => r.passwordHash)).toEqual(afterOnce.map((r) => r.passwordHash))

    // The migrated hash still verifies with the addon, through the route.
    expect((await login(h.app, a!.email, a!.password)).statusCode).toBe(200)
  })
})
