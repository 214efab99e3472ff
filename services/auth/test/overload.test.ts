import type { LightMyRequestResponse } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  AUTH,
  type AuthApp,
  type AuthHarness,
  authHarness,
  countUsers,
  expectError,
  login,
  newUser,
  registerUser,
} from './helper.js'

/**
 * Load shedding on auth: past OVERLOAD_MAX_EVENT_LOOP_DELAY_MS or OVERLOAD_MAX_HEAP_MB every API
 * request is answered at once with 503 + retry-after in the envelope, nothing is written, the
 * probes stay up, and sign-in works again by itself once the pressure is gone.
 */

let h: AuthHarness

beforeAll(async () => {
  h = await authHarness()
})
afterAll(async () => {
  await h?.close()
})

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

function expectShed(res: LightMyRequestResponse) {
  expectError(res, 503, 'SERVICE_UNAVAILABLE', 'common.service_unavailable')
  expect(Number(res.headers['retry-after'])).toBeGreaterThan(0)
  expect(res.headers['x-content-type-options']).toBe('nosniff')
  expect(res.headers['set-cookie']).toBeUndefined()
}

/** Keeps the event loop busy, yielding between slices, until under-pressure's sampler has seen the lag. */
async function lagUntilSampled(app: AuthApp, thresholdMs: number) {
  // Each slice is one event-loop delay sample of ~300 ms, so the sampler's mean passes the
  // threshold at its next tick whatever its phase. Bounded by slices, not by a wall-clock window.
  for (let slice = 0; slice < 40 && app.memoryUsage().eventLoopDelay <= thresholdMs; slice++) {
    const end = Date.now() + 300
    while (Date.now() < end) {
      // busy
    }
    await new Promise((r) => setImmediate(r))
  }
  expect(app.memoryUsage().eventLoopDelay, 'the sampler never saw the lag').toBeGreaterThan(thresholdMs)
}

describe('event-loop lag (OVERLOAD_MAX_EVENT_LOOP_DELAY_MS=100)', () => {
  it('sheds logins with the 503 envelope while the loop lags, then signs in again', async () => {
    const app: AuthApp = await h.build({ env: { OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '100' } })
    const user = await registerUser(app)

    // The request is judged by the sampler's latest reading, so lag the loop until the sampler has
    // recorded it and ask at once; a sampler tick in between (a descheduled test process) only
    // means another round.
    let shed: LightMyRequestResponse | undefined
    for (let round = 0; round < 5 && !shed; round++) {
      await lagUntilSampled(app, 100)
      const res = await login(app, user.email, user.password)
      if (res.statusCode === 503) shed = res
    }
    expect(shed, 'no login was shed while the sampler reported the lag').toBeDefined()
    expectShed(shed!)
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200)

    // Recovery is the sampler's next calm reading; wait for that reading, not for a time.
    let recovered: LightMyRequestResponse | undefined
    for (let tick = 0; tick < 400 && !recovered; tick++) {
      if (app.isUnderPressure()) {
        await sleep(25)
        continue
      }
      const res = await login(app, user.email, user.password)
      if (res.statusCode === 200) recovered = res
      else expectShed(res)
    }
    expect(recovered, 'still shedding after the sampler saw a calm event loop').toBeDefined()
  })
})

describe('heap over OVERLOAD_MAX_HEAP_MB=1', () => {
  it('register, login, refresh and /me are shed with the envelope; no user is written', async () => {
    const app = await h.build({ env: { OVERLOAD_MAX_HEAP_MB: '1', OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0' } })
    // Shedding starts at the sampler's first reading; wait for that reading, not for a time.
    for (let tick = 0; tick < 400 && !app.isUnderPressure(); tick++) await sleep(25)
    expectShed(await app.inject({ method: 'GET', url: `${AUTH}/me` }))
    const users = await countUsers(h)
    expectShed(await app.inject({ method: 'POST', url: `${AUTH}/register`, payload: newUser() }))
    expectShed(await login(app, 'someone@example.com', 'Whatever-1'))
    expectShed(await app.inject({ method: 'POST', url: `${AUTH}/refresh`, payload: { refreshToken: 'x' } }))
    expect(await countUsers(h)).toBe(users)
    for (const url of ['/healthz', '/readyz', '/metrics', '/healthz?from=lb', '/readyz?probe=1']) {
      expect((await app.inject({ method: 'GET', url })).statusCode, url).toBe(200)
    }
  })
})
