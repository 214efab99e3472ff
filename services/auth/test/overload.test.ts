import { expectShed, lagUntilSampled, untilSampled } from '@bio/service-kit/testing'
import type { LightMyRequestResponse } from 'fastify'
import { describe, expect, it } from 'vitest'
import { AUTH, type AuthApp, countUsers, login, newUser, registerUser, useAuthHarness } from './helper.js'

/**
 * Load shedding on auth: past OVERLOAD_MAX_EVENT_LOOP_DELAY_MS or OVERLOAD_MAX_HEAP_MB every API
 * request is answered at once with 503 + retry-after in the envelope, nothing is written, the
 * probes stay up, and sign-in works again by itself once the pressure is gone.
 */

const h = useAuthHarness({ app: false })

describe('event-loop lag (OVERLOAD_MAX_EVENT_LOOP_DELAY_MS=100)', () => {
  it('sheds logins with the 503 envelope while the loop lags, then signs in again', async () => {
    const app: AuthApp = await h.build({ env: { OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '100' } })
    const user = await registerUser(app)

    // The request is judged by the sampler's latest reading, so lag the loop until the sampler has
    // recorded it and ask at once; a sampler tick in between (a descheduled test process) only
    // means another round.
    let shed: LightMyRequestResponse | undefined
    for (let round = 0; round < 5 && !shed; round++) {
      expect(await lagUntilSampled(app, 100), 'the sampler never saw the lag').toBe(true)
      const res = await login(app, user.email, user.password)
      if (res.statusCode === 503) shed = res
    }
    expect(shed, 'no login was shed while the sampler reported the lag').toBeDefined()
    expectShed(shed!)
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200)

    // Recovery is the sampler's next calm reading; wait for that reading, not for a time.
    let recovered: LightMyRequestResponse | undefined
    for (let round = 0; round < 5 && !recovered; round++) {
      expect(await untilSampled(app, false), 'the sampler never saw a calm loop').toBe(true)
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
    expect(await untilSampled(app, true), 'the sampler never read the heap').toBe(true)
    expectShed(await app.inject({ method: 'GET', url: `${AUTH}/me` }))
    const users = await countUsers(h)
    expectShed(await app.inject({ method: 'POST', url: `${AUTH}/register`, payload: newUser() }))
    expectShed(await login(app, 'someone@example.com', 'Whatever-1'))
    expectShed(await app.inject({ method: 'POST', url: `${AUTH}/refresh`, payload: { refreshToken: 'x' } }))
    expect(await countUsers(h)).toBe(users)
    for (const url of ['/healthz', '/readyz', '/healthz?from=lb', '/readyz?probe=1']) {
      expect((await app.inject({ method: 'GET', url })).statusCode, url).toBe(200)
    }
  })
})
