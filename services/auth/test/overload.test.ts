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

describe('event-loop lag (OVERLOAD_MAX_EVENT_LOOP_DELAY_MS=100)', () => {
  it('sheds logins with the 503 envelope while the loop lags, then signs in again', async () => {
    const app: AuthApp = await h.build({ env: { OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '100' } })
    app.get('/__test/block', async (req) => {
      const end = Date.now() + Number((req.query as { ms?: string }).ms ?? 0)
      while (Date.now() < end) {
        // busy
      }
      return {}
    })
    const user = await registerUser(app)
    for (let i = 0; i < 3; i++) await app.inject({ method: 'GET', url: '/__test/block?ms=400' })

    let shed: LightMyRequestResponse | undefined
    for (const deadline = Date.now() + 2000; !shed && Date.now() < deadline; ) {
      const res = await login(app, user.email, user.password)
      if (res.statusCode === 503) shed = res
      else await sleep(5)
    }
    expect(shed, 'no login was shed after the event loop was blocked').toBeDefined()
    expectShed(shed!)
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200)

    let recovered: LightMyRequestResponse | undefined
    for (const until = Date.now() + 3000; !recovered && Date.now() < until; ) {
      const res = await login(app, user.email, user.password)
      if (res.statusCode === 200) recovered = res
      else {
        expectShed(res)
        await sleep(25)
      }
    }
    expect(recovered, 'still shedding 3 s after the event loop recovered').toBeDefined()
  })
})

describe('heap over OVERLOAD_MAX_HEAP_MB=1', () => {
  it('register, login, refresh and /me are shed with the envelope; no user is written', async () => {
    const app = await h.build({ env: { OVERLOAD_MAX_HEAP_MB: '1', OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0' } })
    let res = await app.inject({ method: 'GET', url: `${AUTH}/me` })
    for (let i = 0; i < 100 && res.statusCode !== 503; i++) {
      await sleep(10)
      res = await app.inject({ method: 'GET', url: `${AUTH}/me` })
    }
    expectShed(res)
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
