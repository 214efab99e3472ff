import { freshClientIp } from '@bio/service-kit/testing'
import type { LightMyRequestResponse } from 'fastify'
import { describe, expect, it } from 'vitest'
import {
  AUTH,
  bearer,
  DEVICE_COOKIE_NAME,
  deviceCookieOf,
  expectError,
  loginFrom,
  observableAnswer,
  refreshCookieOf,
  refreshWithCookie,
  registerUser,
  testClock,
  useAuthHarness,
} from './helper.js'

/**
 * The known-device cookie (OWASP "device cookie"): a browser that proved the password skips the
 * e-mail's delay and is counted per device, so an attacker keeping an e-mail delayed from many
 * networks does not keep its owner out; and a network polling through the delay locks itself.
 * All on a real PostgreSQL with an injected clock.
 */

const h = useAuthHarness()

const WRONG = 'Wrong-Password-1'
const SECOND = 1000

const refusedFor = (res: LightMyRequestResponse) => {
  expectError(res, 401, 'ACCOUNT_LOCKED')
  expect(deviceCookieOf(res)).toBeUndefined()
  return Number(res.headers['retry-after'])
}

async function throttledApp(env: Record<string, string>, start: string) {
  const clock = testClock(new Date(start))
  return { clock, app: await h.build({ env, now: clock.now }) }
}

describe('the cookie', () => {
  it('is set on register, sign-in and refresh: HttpOnly, SameSite=Strict, auth routes only, long-lived, no e-mail in it', async () => {
    const user = await registerUser(h.app)
    const reg = await h.app.inject({
      method: 'POST',
      url: `${AUTH}/login`,
      payload: { email: user.email, password: user.password },
    })
    for (const res of [reg, await refreshWithCookie(h.app, refreshCookieOf(reg)!.value)]) {
      const cookie = deviceCookieOf(res)
      expect(cookie, res.body).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/api/v1/auth' })
      expect(cookie!.maxAge).toBeGreaterThanOrEqual(180 * 86_400)
      expect(cookie!.value).toMatch(/^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/)
      expect(cookie!.value).not.toContain(user.email.split('@')[0]!)
    }
    // The device keeps its id across sign-ins: its counter stays the same.
    const again = await loginFrom(h.app, user.email, user.password, '127.0.0.1', deviceCookieOf(reg)!.value)
    expect(deviceCookieOf(again)!.value).toBe(deviceCookieOf(reg)!.value)
    expectError(await loginFrom(h.app, user.email, WRONG, '127.0.0.1'), 401, 'INVALID_CREDENTIALS')
  })
})

describe('an attacker keeping the e-mail delayed from many networks', () => {
  it('does not keep out the owner with a device cookie; without one the owner waits a bounded time', async () => {
    // Defaults: 5 in a row lock a network for 900 s; past 20 attempts, waits up to 60 s.
    const { app, clock } = await throttledApp({}, '2026-09-01T00:00:00Z')
    const user = await registerUser(h.app)
    let device = deviceCookieOf(await loginFrom(app, user.email, user.password, freshClientIp(1)))!.value
    // The attacker: 18 networks, at most 85 guesses an hour, striking again as soon as
    // retry-after allows, and leaving a network alone while it is locked.
    const attackers = Array.from({ length: 18 }, () => ({ ip: freshClientIp(1), lockedUntil: 0 }))
    const ATTACK_EVERY_MS = Math.ceil(3_600_000 / 85)
    const HOURS = 3
    let nextAttack = 0
    let attacks = 0
    const ownerWithDevice: number[] = []
    const waitsWithout: number[] = []
    for (let t = 0; t < HOURS * 3_600_000; t += 10 * SECOND) {
      const free = attackers.find((a) => a.lockedUntil <= t)
      if (t >= nextAttack && free) {
        const res = await loginFrom(app, user.email, WRONG, free.ip)
        attacks++
        const retry = res.json().error.code === 'ACCOUNT_LOCKED' ? Number(res.headers['retry-after']) : 0
        if (retry > 60) free.lockedUntil = t + retry * SECOND
        nextAttack = t + Math.max(ATTACK_EVERY_MS, retry <= 60 ? retry * SECOND : 0)
      }
      // Every 20 minutes, once the attack is under way: the owner signs in from a new network.
      if (t > 0 && t % 1_200_000 === 0) {
        const without = await loginFrom(app, user.email, user.password, freshClientIp(1))
        if (without.statusCode !== 200) waitsWithout.push(refusedFor(without))
        const res = await loginFrom(app, user.email, user.password, freshClientIp(1), device)
        ownerWithDevice.push(res.statusCode)
        if (res.statusCode === 200) device = deviceCookieOf(res)!.value
      }
      clock.advance(10 * SECOND)
    }
    expect(attacks).toBeGreaterThan(HOURS * 55)
    expect(attacks).toBeLessThanOrEqual(HOURS * 85 + 1)
    // The owner with the cookie got in every time, at once.
    expect(ownerWithDevice).toEqual(Array(HOURS * 3 - 1).fill(200))
    // Without it the attack does hold the e-mail delayed, but each wait is bounded.
    expect(waitsWithout.length).toBeGreaterThanOrEqual(HOURS * 3 - 2)
    for (const wait of waitsWithout) expect(wait).toBeLessThanOrEqual(60)
  })

  it('a network polling through the delay locks itself: refused attempts count on it', async () => {
    const env = { LOGIN_LOCK_THRESHOLD: '3', LOGIN_SLOWDOWN_AFTER: '2', LOGIN_SLOWDOWN_MAX_SECONDS: '60' }
    const { app, clock } = await throttledApp(env, '2026-09-02T00:00:00Z')
    const user = await registerUser(h.app)
    // Ten guesses from ten networks, each as soon as allowed: the e-mail's delay is at its 60 s.
    for (let guesses = 0; guesses < 10; ) {
      const res = await loginFrom(app, user.email, WRONG, freshClientIp(1))
      if (res.statusCode === 401 && res.json().error.code === 'ACCOUNT_LOCKED')
        clock.advance(Number(res.headers['retry-after']) * SECOND)
      else guesses++
    }
    const poller = freshClientIp(1)
    const waits: number[] = []
    for (let i = 0; i < 4; i++) {
      waits.push(refusedFor(await loginFrom(app, user.email, user.password, poller)))
      clock.advance(SECOND)
    }
    // Two refusals for the e-mail's delay, the third locks the poller for LOGIN_LOCK_SECONDS.
    expect(waits.slice(0, 2).every((w) => w <= 60)).toBe(true)
    expect(waits[2]).toBe(900)
    expect(waits[3]).toBe(899)
    // Every wait is bounded: once the lock and the delay have passed, the owner signs in there.
    clock.advance(899 * SECOND)
    expect((await loginFrom(app, user.email, user.password, poller)).statusCode).toBe(200)
  })

  it('a device cookie is counted per device: wrong passwords with it lock that device only', async () => {
    const { app } = await throttledApp({ LOGIN_LOCK_THRESHOLD: '3' }, '2026-09-03T00:00:00Z')
    const user = await registerUser(h.app)
    const device = deviceCookieOf(await loginFrom(app, user.email, user.password, freshClientIp(1)))!.value
    const ip = freshClientIp(1)
    for (let i = 0; i < 3; i++)
      expectError(
        await loginFrom(app, user.email, WRONG, freshClientIp(1), device),
        401,
        'INVALID_CREDENTIALS',
      )
    // The device is locked from any network; the network it used last is not.
    expect(refusedFor(await loginFrom(app, user.email, user.password, freshClientIp(1), device))).toBe(900)
    expect((await loginFrom(app, user.email, user.password, ip)).statusCode).toBe(200)
  })

  it('a device cookie for another e-mail, or a forged one, is no device: known and unknown e-mails alike', async () => {
    const { app } = await throttledApp(
      { LOGIN_LOCK_THRESHOLD: '3', LOGIN_SLOWDOWN_AFTER: '2' },
      '2026-09-04T00:00:00Z',
    )
    const other = await registerUser(h.app)
    const foreign = deviceCookieOf(await loginFrom(app, other.email, other.password, freshClientIp(1)))!.value
    const forged = `${foreign.split('.')[0]}.${'A'.repeat(43)}`
    const user = await registerUser(h.app)
    const ghost = `ghost.${Date.now()}@example.com`
    const codes: string[] = []
    for (const cookie of [foreign, forged, foreign, forged, foreign, forged]) {
      const ip = freshClientIp(1)
      const known = await loginFrom(app, user.email, WRONG, ip, cookie)
      const unknown = await loginFrom(app, ghost, WRONG, ip, cookie)
      expect(observableAnswer(unknown)).toEqual(observableAnswer(known))
      codes.push(known.json().error.code)
    }
    // Past LOGIN_SLOWDOWN_AFTER the delay applies: neither cookie exempted the attempt.
    expect(codes.slice(0, 2)).toEqual(['INVALID_CREDENTIALS', 'INVALID_CREDENTIALS'])
    expect(codes).toContain('ACCOUNT_LOCKED')
  })

  it('change-password, which counts on the throttle too, skips the delay with the device cookie only', async () => {
    const env = { LOGIN_LOCK_THRESHOLD: '3', LOGIN_SLOWDOWN_AFTER: '2' }
    const { app, clock } = await throttledApp(env, '2026-09-05T00:00:00Z')
    const user = await registerUser(h.app)
    const signedIn = await loginFrom(app, user.email, user.password, freshClientIp(1))
    const device = deviceCookieOf(signedIn)!.value
    const accessToken = signedIn.json().data.accessToken as string
    for (let guesses = 0; guesses < 10; ) {
      const res = await loginFrom(app, user.email, WRONG, freshClientIp(1))
      if (res.json().error.code === 'ACCOUNT_LOCKED')
        clock.advance(Number(res.headers['retry-after']) * SECOND)
      else guesses++
    }
    const change = (cookies: Record<string, string>) =>
      app.inject({
        method: 'POST',
        url: `${AUTH}/change-password`,
        headers: bearer(accessToken),
        cookies,
        payload: { currentPassword: user.password, newPassword: 'Changed-Pass42' },
        remoteAddress: freshClientIp(1),
      })
    refusedFor(await change({}))
    const res = await change({ [DEVICE_COOKIE_NAME]: device })
    expect(res.statusCode, res.body).toBe(200)
  })
})
