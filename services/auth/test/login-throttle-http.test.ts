import { freshClientIp } from '@bio/service-kit/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AUTH, newUser, useAuthHarness } from './helper.js'

/**
 * The sign-in throttle over real HTTP, behind a trusted proxy (TRUST_PROXY=true, the client's
 * address in x-forwarded-for): the attacker's network is locked with `retry-after` on the wire,
 * and the owner from another network signs in and gets the refresh cookie.
 */

let base: string

const h = useAuthHarness({
  app: { env: { TRUST_PROXY: 'true', LOGIN_LOCK_THRESHOLD: '3', LOGIN_LOCK_SECONDS: '600' } },
})

beforeAll(async () => {
  await h.app.listen({ port: 0, host: '127.0.0.1' })
  const address = h.app.server.address()
  base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`
})
afterAll(async () => {
  await h.app?.close()
})

const post = (path: string, body: unknown, clientIp: string) =>
  fetch(`${base}${AUTH}/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': clientIp },
    body: JSON.stringify(body),
  })

describe('sign-in throttle over HTTP', () => {
  it('locks the attacker’s network, not the owner', async () => {
    const user = newUser()
    expect((await post('register', user, freshClientIp(1))).status).toBe(201)
    const attacker = freshClientIp(1)
    for (let i = 0; i < 3; i++) {
      const res = await post('login', { email: user.email, password: 'Wrong-Password-1' }, attacker)
      expect(res.status).toBe(401)
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('INVALID_CREDENTIALS')
    }
    const locked = await post('login', { email: user.email, password: user.password }, attacker)
    expect(locked.status).toBe(401)
    const retryAfter = Number(locked.headers.get('retry-after'))
    expect(retryAfter).toBeGreaterThan(590)
    expect(retryAfter).toBeLessThanOrEqual(600)
    const body = (await locked.json()) as { error: { code: string; i18nVars: { retryAfterSeconds: number } } }
    expect(body.error.code).toBe('ACCOUNT_LOCKED')
    expect(body.error.i18nVars.retryAfterSeconds).toBe(retryAfter)
    expect(locked.headers.get('set-cookie')).toBeNull()

    const owner = await post('login', { email: user.email, password: user.password }, freshClientIp(1))
    expect(owner.status).toBe(200)
    expect(owner.headers.get('set-cookie')).toMatch(/^biore_refresh=/)
  })
})
