import { createHash, createHmac, randomBytes } from 'node:crypto'
import { freshClientIp } from '@bio/service-kit/testing'
import { sql } from 'drizzle-orm'
import type { LightMyRequestResponse } from 'fastify'
import postgres from 'postgres'
import { describe, expect, it } from 'vitest'
import { loginThrottlesRepository } from '../src/db/login-throttles-repository.js'
import { loginThrottles } from '../src/db/schema.js'
import { clearLoginFailures } from '../src/domain/login-throttle.js'
import {
  expectError,
  loginFrom,
  observableAnswer,
  registerUser,
  sessionsOf,
  TEST_THROTTLE_SECRET,
  testClock,
  useAuthHarness,
} from './helper.js'

/**
 * The sign-in throttle through the route, on a real PostgreSQL, with an injected clock: the tight
 * lock per (e-mail, network), the loose growing delay per e-mail, and that neither is a lock an
 * attacker can put on the owner.
 */

const h = useAuthHarness()

function expectThrottled(res: LightMyRequestResponse, retryAfterSeconds?: number): number {
  const error = expectError(res, 401, 'ACCOUNT_LOCKED', 'auth.login.account_locked')
  const retry = Number(res.headers['retry-after'])
  expect(error.i18nVars).toEqual({ retryAfterSeconds: retry })
  if (retryAfterSeconds !== undefined) expect(retry).toBe(retryAfterSeconds)
  expect(res.headers['set-cookie']).toBeUndefined()
  return retry
}

const WRONG = 'Wrong-Password-1'

async function throttledApp(env: Record<string, string>, start: string) {
  const clock = testClock(new Date(start))
  return { clock, app: await h.build({ env, now: clock.now }) }
}

describe('per (e-mail, network): the tight lock', () => {
  it('locks after LOGIN_LOCK_THRESHOLD attempts from one network, even for the right password', async () => {
    const { app } = await throttledApp({ LOGIN_LOCK_THRESHOLD: '3' }, '2026-07-01T10:00:00Z')
    const user = await registerUser(h.app)
    const attacker = freshClientIp(1)
    for (let i = 0; i < 3; i++)
      expectError(await loginFrom(app, user.email, WRONG, attacker), 401, 'INVALID_CREDENTIALS')
    expectThrottled(await loginFrom(app, user.email, user.password, attacker), 900)
    expectThrottled(await loginFrom(app, user.email, WRONG, attacker), 900)
    expect(await sessionsOf(h, user.userId)).toHaveLength(1)
  })

  it('the owner from another network signs in while the attacker’s network is locked', async () => {
    const { app } = await throttledApp({ LOGIN_LOCK_THRESHOLD: '3' }, '2026-07-01T11:00:00Z')
    const user = await registerUser(h.app)
    const attacker = freshClientIp(1)
    for (let i = 0; i < 5; i++) await loginFrom(app, user.email, WRONG, attacker)
    expectThrottled(await loginFrom(app, user.email, user.password, attacker))
    const owner = await loginFrom(app, user.email, user.password, freshClientIp(1))
    expect(owner.statusCode, owner.body).toBe(200)
    // The attacker's network is still locked after the owner got in.
    expectThrottled(await loginFrom(app, user.email, user.password, attacker))
  })

  it('an IPv6 client is counted by its /64: hopping addresses inside it does not help', async () => {
    const { app } = await throttledApp({ LOGIN_LOCK_THRESHOLD: '2' }, '2026-07-01T12:00:00Z')
    const user = await registerUser(h.app)
    await loginFrom(app, user.email, WRONG, '2001:db8:1:2::1')
    await loginFrom(app, user.email, WRONG, '2001:db8:1:2:ffff::9')
    expectThrottled(await loginFrom(app, user.email, user.password, '2001:0db8:0001:0002::77'))
    expect((await loginFrom(app, user.email, user.password, '2001:db8:1:3::1')).statusCode).toBe(200)
  })

  it('the lock ends by itself (injected clock), and counting starts again from zero', async () => {
    const { app, clock } = await throttledApp(
      { LOGIN_LOCK_THRESHOLD: '3', LOGIN_LOCK_SECONDS: '600' },
      '2026-07-02T10:00:00Z',
    )
    const user = await registerUser(h.app)
    const ip = freshClientIp(1)
    for (let i = 0; i < 3; i++) await loginFrom(app, user.email, WRONG, ip)
    clock.advance(599_000)
    expectThrottled(await loginFrom(app, user.email, user.password, ip), 1)
    clock.advance(1_000)
    for (let i = 0; i < 2; i++)
      expectError(await loginFrom(app, user.email, WRONG, ip), 401, 'INVALID_CREDENTIALS')
    expect((await loginFrom(app, user.email, user.password, ip)).statusCode).toBe(200)
  })

  it('a success clears the network’s counter, so only failures in a row lock it', async () => {
    const { app } = await throttledApp({ LOGIN_LOCK_THRESHOLD: '3' }, '2026-07-03T10:00:00Z')
    const user = await registerUser(h.app)
    const ip = freshClientIp(1)
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 2; i++) await loginFrom(app, user.email, WRONG, ip)
      expect((await loginFrom(app, user.email, user.password, ip)).statusCode).toBe(200)
    }
  })

  it('parallel guesses cannot slip past the limit: attempts are counted before the hash is checked', async () => {
    const { app } = await throttledApp({ LOGIN_LOCK_THRESHOLD: '3' }, '2026-07-04T10:00:00Z')
    const user = await registerUser(h.app)
    const ip = freshClientIp(1)
    const results = await Promise.all(Array.from({ length: 10 }, () => loginFrom(app, user.email, WRONG, ip)))
    const codes = results.map((r) => r.json().error.code).sort()
    expect(codes.filter((c) => c === 'INVALID_CREDENTIALS')).toHaveLength(3)
    expect(codes.filter((c) => c === 'ACCOUNT_LOCKED')).toHaveLength(7)
  })
})

describe('per e-mail: the loose, growing delay', () => {
  const env = {
    LOGIN_LOCK_THRESHOLD: '3',
    LOGIN_SLOWDOWN_AFTER: '4',
    LOGIN_SLOWDOWN_MAX_SECONDS: '8',
  }

  it('past LOGIN_SLOWDOWN_AFTER failures from any networks, each one delays the next: 1, 2, 4, 8, 8 s', async () => {
    const { app, clock } = await throttledApp(env, '2026-07-05T10:00:00Z')
    const user = await registerUser(h.app)
    for (let i = 0; i < 4; i++)
      expectError(await loginFrom(app, user.email, WRONG, freshClientIp(1)), 401, 'INVALID_CREDENTIALS')
    for (const delay of [1, 2, 4, 8, 8]) {
      expectError(await loginFrom(app, user.email, WRONG, freshClientIp(1)), 401, 'INVALID_CREDENTIALS')
      // Refused attempts are not counted and cost no hash.
      expectThrottled(await loginFrom(app, user.email, user.password, freshClientIp(1)), delay)
      clock.advance(delay * 1000)
    }
    // No hard lock: once the delay has passed, the owner from a new network signs in.
    expect((await loginFrom(app, user.email, user.password, freshClientIp(1))).statusCode).toBe(200)
  })

  it('a network where the owner signed in before is trusted and skips the delay', async () => {
    const { app } = await throttledApp(env, '2026-07-06T10:00:00Z')
    const user = await registerUser(h.app)
    const home = freshClientIp(1)
    expect((await loginFrom(app, user.email, user.password, home)).statusCode).toBe(200)
    for (let i = 0; i < 8; i++) await loginFrom(app, user.email, WRONG, freshClientIp(1))
    expectThrottled(await loginFrom(app, user.email, user.password, freshClientIp(1)))
    expect((await loginFrom(app, user.email, user.password, home)).statusCode).toBe(200)
  })

  it('failures are forgotten after LOGIN_FAILURE_MEMORY_SECONDS without one', async () => {
    const { app, clock } = await throttledApp(
      { ...env, LOGIN_FAILURE_MEMORY_SECONDS: '3600' },
      '2026-07-07T10:00:00Z',
    )
    const user = await registerUser(h.app)
    for (let i = 0; i < 4; i++) await loginFrom(app, user.email, WRONG, freshClientIp(1))
    clock.advance(3_600_000)
    // Four more failures are within the free budget again.
    for (let i = 0; i < 4; i++)
      expectError(await loginFrom(app, user.email, WRONG, freshClientIp(1)), 401, 'INVALID_CREDENTIALS')
    expect((await loginFrom(app, user.email, user.password, freshClientIp(1))).statusCode).toBe(200)
  })
})

describe('known and unknown e-mails', () => {
  it('get the same answers through lock, delay and their end, step by step', async () => {
    const { app, clock } = await throttledApp(
      { LOGIN_LOCK_THRESHOLD: '3', LOGIN_SLOWDOWN_AFTER: '5', LOGIN_SLOWDOWN_MAX_SECONDS: '4' },
      '2026-07-10T10:00:00Z',
    )
    const user = await registerUser(h.app)
    const ghost = `ghost.${Date.now()}@example.com`
    const home = freshClientIp(1)
    // Each step: which network, and whether the clock moves first. While the throttle refuses,
    // the known account's right password is sent (for both e-mails): it must not get through.
    const steps: { ip: string; password: string; advanceMs?: number }[] = [
      ...Array.from({ length: 4 }, () => ({ ip: home, password: WRONG })),
      { ip: home, password: user.password },
      ...Array.from({ length: 4 }, () => ({ ip: freshClientIp(1), password: WRONG })),
      { ip: freshClientIp(1), password: user.password },
      { ip: freshClientIp(1), password: WRONG, advanceMs: 4_000 },
      { ip: home, password: WRONG, advanceMs: 900_000 },
    ]
    const codes: string[] = []
    for (const [i, s] of steps.entries()) {
      if (s.advanceMs) clock.advance(s.advanceMs)
      const known = await loginFrom(app, user.email, s.password, s.ip)
      const unknown = await loginFrom(app, ghost, s.password, s.ip)
      expect(observableAnswer(unknown), `step ${i + 1}`).toEqual(observableAnswer(known))
      codes.push(known.json().error.code)
    }
    // Failures, the network lock, failures elsewhere, the e-mail's delay, and both ending.
    const [I, L] = ['INVALID_CREDENTIALS', 'ACCOUNT_LOCKED']
    expect(codes).toEqual([I, I, I, L, L, I, I, I, L, L, I, I])
  })
})

describe('clearing and storage', () => {
  it('clearLoginFailures(email) lifts every lock and delay of that e-mail (what a password reset calls)', async () => {
    const { app } = await throttledApp(
      { LOGIN_LOCK_THRESHOLD: '2', LOGIN_SLOWDOWN_AFTER: '2' },
      '2026-07-08T10:00:00Z',
    )
    const user = await registerUser(h.app)
    const ip = freshClientIp(1)
    for (let i = 0; i < 2; i++) await loginFrom(app, user.email, WRONG, ip)
    await loginFrom(app, user.email, WRONG, freshClientIp(1))
    expectThrottled(await loginFrom(app, user.email, user.password, ip))
    expectThrottled(await loginFrom(app, user.email, user.password, freshClientIp(1)))
    await clearLoginFailures(h.database.db, TEST_THROTTLE_SECRET, user.email)
    expect((await loginFrom(app, user.email, user.password, ip)).statusCode).toBe(200)
  })

  it('stores digests only: neither the e-mail nor the IP appears in the table', async () => {
    const { app } = await throttledApp({}, '2026-07-09T10:00:00Z')
    const email = `ghost.${Date.now()}@example.com`
    const ip = freshClientIp(1)
    await loginFrom(app, email, WRONG, ip)
    const rows = await h.database.db.select().from(loginThrottles)
    const dump = JSON.stringify(rows)
    expect(rows.length).toBeGreaterThanOrEqual(2)
    expect(dump).not.toContain(email)
    expect(dump).not.toContain(ip)
    for (const row of rows) expect(row.key).toMatch(/^[0-9a-f]{64}$/)
  })

  it('keys are HMACs under LOGIN_THROTTLE_SECRET: a list of e-mails does not reverse them', async () => {
    const { app } = await throttledApp({}, '2026-07-09T11:00:00Z')
    const email = `hmac.${Date.now()}@example.com`
    await loginFrom(app, email, WRONG, freshClientIp(1))
    const plain = createHash('sha256').update(`email\n${email}`).digest('hex')
    const hmac = createHmac('sha256', TEST_THROTTLE_SECRET).update(`email\n${email}`).digest('hex')
    const keys = (await h.database.db.select({ key: loginThrottles.key }).from(loginThrottles)).map(
      (r) => r.key,
    )
    expect(keys).not.toContain(plain)
    expect(keys).toContain(hmac)
    // Another secret gives other keys: rotating it starts every counter afresh.
    const other = await throttledApp(
      { LOGIN_THROTTLE_SECRET: 'another-throttle-secret-of-32-bytes!!' },
      '2026-07-09T11:00:00Z',
    )
    await loginFrom(other.app, email, WRONG, freshClientIp(1))
    const after = await h.database.db.select({ key: loginThrottles.key }).from(loginThrottles)
    expect(after.length).toBe(keys.length + 2)
  })

  it('pruneExpired deletes only counters that mean nothing any more', async () => {
    const repo = loginThrottlesRepository(h.database.db)
    const now = new Date('2030-01-01T00:00:00Z')
    const stale = randomBytes(32).toString('hex')
    const live = randomBytes(32).toString('hex')
    await h.database.db.insert(loginThrottles).values([
      { key: stale, scope: 'email', emailKey: stale, expiresAt: new Date(now.getTime() - 1000) },
      { key: live, scope: 'email', emailKey: live, expiresAt: new Date(now.getTime() + 1000) },
    ])
    expect(await repo.pruneExpired(now, 1_000_000)).toBeGreaterThanOrEqual(1)
    const left = await h.database.db
      .select({ key: loginThrottles.key })
      .from(loginThrottles)
      .where(sql`${loginThrottles.key} in (${stale}, ${live})`)
    expect(left.map((r) => r.key)).toEqual([live])
  })

  it('lock() survives a prune deleting the row under it: the counter is made again, no 500', async () => {
    const now = new Date('2030-02-01T00:00:00Z')
    const key = randomBytes(32).toString('hex')
    const other = randomBytes(32).toString('hex')
    const counterKey = { key, scope: 'email' as const, emailKey: key }
    const otherKey = { key: other, scope: 'network' as const, emailKey: key }
    await h.database.db
      .insert(loginThrottles)
      .values({ ...counterKey, failures: 7, expiresAt: new Date(now.getTime() - 1000) })
    // A pruner that has picked the expired row (row lock held) but not yet deleted it.
    const pruner = postgres(h.testDb.url, { max: 1, onnotice: () => {} })
    let deleteNow!: () => void
    const mayDelete = new Promise<void>((resolve) => {
      deleteNow = resolve
    })
    let picked!: () => void
    const hasPicked = new Promise<void>((resolve) => {
      picked = resolve
    })
    const prune = pruner.begin(async (tx) => {
      await tx`select key from login_throttles where key = ${key} for update`
      picked()
      await mayDelete
      await tx`delete from login_throttles where key = ${key}`
    })
    try {
      await hasPicked
      const locking = h.database.db.transaction((tx) =>
        loginThrottlesRepository(tx).lock([otherKey, counterKey], now),
      )
      // Wait until the sign-in's statement is queued behind the pruner's row lock, then delete.
      const watcher = postgres(h.testDb.url, { max: 1, onnotice: () => {} })
      try {
        for (;;) {
          const [waiting] = await watcher`select count(*)::int as n from pg_stat_activity
            where wait_event_type = 'Lock' and query ilike '%login_throttles%'`
          if (waiting!.n > 0) break
          await new Promise((resolve) => setImmediate(resolve))
        }
      } finally {
        await watcher.end()
      }
      deleteNow()
      await prune
      const [otherCounter, counter] = await locking
      expect(otherCounter).toMatchObject({ key: other, failures: 0 })
      expect(counter).toMatchObject({ key, scope: 'email', failures: 0 })
      const stored = await h.database.db
        .select({ key: loginThrottles.key })
        .from(loginThrottles)
        .where(sql`${loginThrottles.key} = ${key}`)
      expect(stored).toHaveLength(1)
    } finally {
      deleteNow()
      await prune.catch(() => {})
      await pruner.end()
    }
  })
})
