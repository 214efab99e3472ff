import { describe, expect, it } from 'vitest'
import type { SessionView } from '../src/domain/sessions.js'
import {
  AUTH,
  bearer,
  expectError,
  login,
  mailTo,
  refreshCookieOf,
  refreshWithCookie,
  registerUser,
  sessionsOf,
  testClock,
  useAuthHarness,
} from './helper.js'
import { memoryTransport } from './mail-capture.js'

/** GET /sessions, DELETE /sessions/:id, POST /sessions/revoke-all, and the reuse mail (contract 3.1, 3.8). */

const mail = memoryTransport()
const clock = testClock()
const FIREFOX = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0'
const SAFARI_IOS =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1'

const h = useAuthHarness({
  app: {
    now: clock.now,
    env: { TRUST_PROXY: 'true', REFRESH_REUSE_GRACE_S: '0' },
    mail,
  },
})

const list = (token: string) =>
  h.app.inject({ method: 'GET', url: `${AUTH}/sessions`, headers: bearer(token) })
const revoke = (token: string, id: string) =>
  h.app.inject({ method: 'DELETE', url: `${AUTH}/sessions/${id}`, headers: bearer(token) })
const revokeAll = (token: string) =>
  h.app.inject({ method: 'POST', url: `${AUTH}/sessions/revoke-all`, headers: bearer(token) })

type SessionJson = SessionView

describe('GET /sessions', () => {
  it('lists live sessions with a readable device, the masked IP and which one is current', async () => {
    const user = await registerUser(h.app, {}, { 'user-agent': FIREFOX, 'x-forwarded-for': '203.0.113.77' })
    clock.advance(1000)
    const phone = await login(h.app, user.email, user.password, {
      'user-agent': SAFARI_IOS,
      'x-forwarded-for': '2001:db8:abcd:12::1',
    })
    const res = await list(user.accessToken)
    expect(res.statusCode, res.body).toBe(200)
    const sessions = res.json().data as SessionJson[]
    expect(sessions).toHaveLength(2)
    const current = sessions.find((s) => s.isCurrent)!
    const other = sessions.find((s) => !s.isCurrent)!
    expect(current).toMatchObject({ device: 'Firefox on Windows 10', ipMasked: '203.0.113.***' })
    expect(other).toMatchObject({ device: 'Mobile Safari on iOS 17', ipMasked: '2001:db8:abcd:***' })
    expect(Object.keys(current).sort()).toEqual([
      'createdAt',
      'device',
      'id',
      'ipMasked',
      'isCurrent',
      'lastActiveAt',
    ])
    expect(Date.parse(other.createdAt)).toBeGreaterThan(Date.parse(current.createdAt))
    // Most recently active first; only the masked form is stored.
    expect(sessions[0]!.id).toBe(other.id)
    const rows = await sessionsOf(h, user.userId)
    expect(rows.map((r) => r.ipMasked).sort()).toEqual(['2001:db8:abcd:***', '203.0.113.***'])
    expect(refreshCookieOf(phone)).toBeDefined()
  })

  it('drops rotated, revoked and expired sessions', async () => {
    const user = await registerUser(h.app)
    const rotated = await refreshWithCookie(h.app, user.refreshToken)
    const accessToken = rotated.json().data.accessToken as string
    const sessions = (await list(accessToken)).json().data as SessionJson[]
    expect(sessions).toHaveLength(1)
    expect(sessions[0]!.isCurrent).toBe(true)
    clock.advance(31 * 86_400_000)
    try {
      expect((await list(accessToken)).json().data).toEqual([])
    } finally {
      clock.advance(-31 * 86_400_000)
    }
  })

  it('needs a bearer token', async () => {
    expectError(await h.app.inject({ method: 'GET', url: `${AUTH}/sessions` }), 401)
  })
})

describe('DELETE /sessions/:id', () => {
  it('revokes another session of the caller: its refresh token stops working', async () => {
    const user = await registerUser(h.app)
    const other = await login(h.app, user.email, user.password)
    const otherId = ((await list(user.accessToken)).json().data as SessionJson[]).find(
      (s) => !s.isCurrent,
    )!.id
    const res = await revoke(user.accessToken, otherId)
    expect(res.statusCode, res.body).toBe(200)
    expect(res.json()).toEqual({ success: true })
    expectError(await refreshWithCookie(h.app, refreshCookieOf(other)!.value), 401, 'INVALID_REFRESH_TOKEN')
    expect(((await list(user.accessToken)).json().data as SessionJson[]).map((s) => s.id)).not.toContain(
      otherId,
    )
    expectError(await revoke(user.accessToken, otherId), 404, 'SESSION_NOT_FOUND')
  })

  it('refuses the caller’s own session with 400 auth.sessions.cannot_revoke_current', async () => {
    const user = await registerUser(h.app)
    const [own] = (await list(user.accessToken)).json().data as SessionJson[]
    expectError(
      await revoke(user.accessToken, own!.id.toUpperCase()),
      400,
      'SESSION_CANNOT_REVOKE_CURRENT',
      'auth.sessions.cannot_revoke_current',
    )
    expect((await refreshWithCookie(h.app, user.refreshToken)).statusCode).toBe(200)
  })

  it('another user’s session is the same 404 as an unknown one, and stays alive', async () => {
    const alice = await registerUser(h.app)
    const bob = await registerUser(h.app)
    const [bobs] = (await list(bob.accessToken)).json().data as SessionJson[]
    const foreign = await revoke(alice.accessToken, bobs!.id)
    const unknown = await revoke(alice.accessToken, '0b6f8a47-1c51-4d0c-9d5e-0f1c2b3a4d5e')
    const a = expectError(foreign, 404, 'SESSION_NOT_FOUND', 'auth.sessions.not_found')
    const b = expectError(unknown, 404, 'SESSION_NOT_FOUND')
    expect({ ...a, correlationId: '' }).toEqual({ ...b, correlationId: '' })
    expect((await refreshWithCookie(h.app, bob.refreshToken)).statusCode).toBe(200)
  })

  it.each(['not-a-uuid', '1', 'urn:uuid:0b6f8a47-1c51-4d0c-9d5e-0f1c2b3a4d5e', "' or 1=1 --"])(
    'a malformed id (%s) is a 400 VALIDATION_FAILED envelope',
    async (id) => {
      const user = await registerUser(h.app)
      expectError(await revoke(user.accessToken, encodeURIComponent(id)), 400, 'VALIDATION_FAILED')
    },
  )
})

describe('POST /sessions/revoke-all', () => {
  it('revokes every session but the current one', async () => {
    const user = await registerUser(h.app)
    const others = await Promise.all([1, 2, 3].map(() => login(h.app, user.email, user.password)))
    const res = await revokeAll(user.accessToken)
    expect(res.statusCode, res.body).toBe(200)
    expect(res.json()).toEqual({ success: true })
    for (const o of others) expectError(await refreshWithCookie(h.app, refreshCookieOf(o)!.value), 401)
    const left = (await list(user.accessToken)).json().data as SessionJson[]
    expect(left).toHaveLength(1)
    expect(left[0]!.isCurrent).toBe(true)
  })
})

describe('refresh-token reuse', () => {
  it('revokes everything and queues a security mail to the owner', async () => {
    const user = await registerUser(h.app)
    expect((await refreshWithCookie(h.app, user.refreshToken)).statusCode).toBe(200)
    expectError(await refreshWithCookie(h.app, user.refreshToken), 401, 'REFRESH_TOKEN_REUSED')
    const alert = await mailTo(mail, user.email, /security alert/i)
    expect(alert.text).toMatch(/signed out/)
    expect(alert.html).toContain('<html')
  })
})
