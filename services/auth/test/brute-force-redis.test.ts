import {
  expectRateLimited,
  freshClientIp,
  TEST_REDIS_URL as REDIS_URL,
  twoReadyInstances,
} from '@bio/service-kit/testing'
import { describe, expect, it } from 'vitest'
import {
  AUTH,
  countUsers,
  expectError,
  login,
  newUser,
  registerUser,
  testClock,
  useAuthHarness,
} from './helper.js'

/**
 * Brute-force protection across instances: with REDIS_URL set, the per-IP limits are counted in
 * Redis, so two instances of auth (behind one balancer) enforce ONE budget per client; the
 * sign-in throttle's counters live in the shared database, so failures on any instance add up.
 * Each run uses client IPs of its own (TRUST_PROXY=true + x-forwarded-for, random addresses of the
 * 2001:db8::/32 documentation prefix) so reruns never meet old counters. CI starts Redis.
 */

const LIMITED = {
  RATE_LIMIT_ENABLED: 'true',
  TRUST_PROXY: 'true',
  RATE_LIMITS: 'login=4/1m,register=2/1m',
}

const h = useAuthHarness({ app: false })

/** A client address no other run (or test) uses. */
const freshIp = () => freshClientIp(1)
const from = (ip: string) => ({ 'x-forwarded-for': ip })

const twoInstances = (env: Record<string, string>) => twoReadyInstances(() => h.build({ env }))

describe('per-IP limits shared through Redis (REDIS_URL set, two instances)', () => {
  it('login=4/1m: four attempts spread over both instances use up the budget on both', async () => {
    const [a, b] = await twoInstances({ ...LIMITED, REDIS_URL })
    const ip = freshIp()
    const attempts = [a, b, a, b]
    for (const [i, app] of attempts.entries()) {
      const res = await login(app, 'nobody@example.com', 'Wrong-Password-1', from(ip))
      expectError(res, 401, 'INVALID_CREDENTIALS')
      expect(res.headers['ratelimit-remaining'], `attempt ${i + 1}`).toBe(String(3 - i))
    }
    expectRateLimited(await login(a, 'nobody@example.com', 'Wrong-Password-1', from(ip)), 60)
    expectRateLimited(await login(b, 'nobody@example.com', 'Wrong-Password-1', from(ip)), 60)
    // Another client still has its whole budget, on either instance.
    const other = freshIp()
    expectError(await login(b, 'nobody@example.com', 'Wrong-Password-1', from(other)), 401)
    expectError(await login(a, 'nobody@example.com', 'Wrong-Password-1', from(other)), 401)
  })

  it('register=2/1m: the third registration from one client is refused on the other instance', async () => {
    const [a, b] = await twoInstances({ ...LIMITED, REDIS_URL })
    const ip = freshIp()
    for (const app of [a, b]) {
      const res = await app.inject({
        method: 'POST',
        url: `${AUTH}/register`,
        payload: newUser(),
        headers: from(ip),
      })
      expect(res.statusCode, res.body).toBe(201)
    }
    const users = await countUsers(h)
    expectRateLimited(
      await a.inject({ method: 'POST', url: `${AUTH}/register`, payload: newUser(), headers: from(ip) }),
      60,
    )
    expect(await countUsers(h)).toBe(users)
  })

  it('(control) without REDIS_URL each instance counts alone: the budget is per instance', async () => {
    const [a, b] = await twoInstances(LIMITED)
    const ip = freshIp()
    for (let i = 0; i < 4; i++) expectError(await login(a, 'nobody@example.com', 'Wrong-1a', from(ip)), 401)
    expectRateLimited(await login(a, 'nobody@example.com', 'Wrong-1a', from(ip)), 60)
    // The other instance has not seen this client: that is what Redis is for.
    expectError(await login(b, 'nobody@example.com', 'Wrong-1a', from(ip)), 401)
  })
})

describe('sign-in throttle across instances (its counters live in PostgreSQL)', () => {
  const throttled = (env: Record<string, string>) => {
    const clock = testClock(new Date('2026-09-01T10:00:00Z'))
    const apps = twoReadyInstances(() =>
      h.build({ env: { ...LIMITED, RATE_LIMITS: 'login=100/1m', REDIS_URL, ...env }, now: clock.now }),
    )
    return { clock, apps }
  }

  it('failures from one network on both instances add up to one lock, seen by both', async () => {
    const { apps } = throttled({ LOGIN_LOCK_THRESHOLD: '3', LOGIN_LOCK_SECONDS: '60' })
    const [a, b] = await apps
    const user = await registerUser(a, {}, from(freshIp()))
    const attacker = freshIp()
    for (const app of [a, b, a]) {
      expectError(
        await login(app, user.email, 'Wrong-Password-1', from(attacker)),
        401,
        'INVALID_CREDENTIALS',
      )
    }
    for (const app of [a, b]) {
      const res = await login(app, user.email, user.password, from(attacker))
      const error = expectError(res, 401, 'ACCOUNT_LOCKED', 'auth.login.account_locked')
      expect(error.i18nVars?.retryAfterSeconds).toBe(60)
      expect(res.headers['set-cookie']).toBeUndefined()
    }
    // The owner, from another network, signs in on either instance.
    expect((await login(b, user.email, user.password, from(freshIp()))).statusCode).toBe(200)
  })

  it('failures from many networks on both instances add up to the per-e-mail delay, which ends', async () => {
    const { apps, clock } = throttled({ LOGIN_SLOWDOWN_AFTER: '2', LOGIN_SLOWDOWN_MAX_SECONDS: '30' })
    const [a, b] = await apps
    const user = await registerUser(a, {}, from(freshIp()))
    for (const app of [a, b, a]) {
      expectError(
        await login(app, user.email, 'Wrong-Password-1', from(freshIp())),
        401,
        'INVALID_CREDENTIALS',
      )
    }
    for (const app of [b, a]) {
      const error = expectError(
        await login(app, user.email, user.password, from(freshIp())),
        401,
        'ACCOUNT_LOCKED',
      )
      expect(error.i18nVars?.retryAfterSeconds).toBe(1)
    }
    clock.advance(1_000)
    expect((await login(b, user.email, user.password, from(freshIp()))).statusCode).toBe(200)
  })
})
