import { sql } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { AUDIT_EVENTS } from '../src/db/schema.js'
import {
  AUTH,
  bearer,
  mailTo,
  query,
  refreshCookieOf,
  registerUser,
  testClock,
  useAuthHarness,
} from './helper.js'
import { memoryTransport, tokenOf } from './mail-capture.js'

/** auth_audit_events: every listed event, with masked IP, User-Agent and correlation id; append-only; pruned. */

const mail = memoryTransport()
const clock = testClock()
const UA = 'AuditTest/1.0 (X11; Linux x86_64)'
const IP = '198.51.100.23'

const h = useAuthHarness({
  app: {
    now: clock.now,
    env: {
      TRUST_PROXY: 'true',
      LOGIN_LOCK_THRESHOLD: '2',
      REFRESH_REUSE_GRACE_S: '0',
      AUDIT_RETENTION_DAYS: '30',
    },
    mail,
  },
})

let n = 0
/** Headers of a request whose audit row we can find by its correlation id. */
const headers = (extra: Record<string, string> = {}) => ({
  'user-agent': UA,
  'x-forwarded-for': IP,
  'x-request-id': `audit-${Date.now()}-${++n}`,
  ...extra,
})

interface EventRow {
  event: string
  user_id: string | null
  ip_masked: string | null
  user_agent: string | null
  correlation_id: string | null
  details: Record<string, unknown> | null
}

const eventsOf = (correlationId: string) =>
  query<EventRow>(h, sql`select * from auth_audit_events where correlation_id = ${correlationId} order by id`)

async function call(
  method: 'POST' | 'GET' | 'DELETE',
  path: string,
  payload?: object,
  extra: Record<string, string> = {},
) {
  const hd = headers(extra)
  const res = await h.app.inject({
    method,
    url: `${AUTH}${path}`,
    headers: hd,
    ...(payload ? { payload } : {}),
  })
  return { res, events: await eventsOf(hd['x-request-id']), id: hd['x-request-id'] }
}

describe('the audit log', () => {
  it('records every listed event with user id, masked IP, User-Agent and correlation id', async () => {
    const seen = new Set<string>()
    const expectEvent = (events: EventRow[], event: string, userId: string | null, correlationId: string) => {
      const row = events.find((e) => e.event === event)
      expect(row, `${event} in ${JSON.stringify(events)}`).toBeDefined()
      expect(row).toMatchObject({
        user_id: userId,
        ip_masked: '198.51.100.***',
        user_agent: UA,
        correlation_id: correlationId,
      })
      seen.add(event)
    }
    const hd = headers()
    const user = await registerUser(h.app, {}, hd)
    expectEvent(await eventsOf(hd['x-request-id']), 'auth.register.success', user.userId, hd['x-request-id'])

    const ok = await call('POST', '/login', { email: user.email, password: user.password })
    expectEvent(ok.events, 'auth.login.success', user.userId, ok.id)
    const unknown = await call('POST', '/login', { email: `nobody${n}@example.com`, password: 'Whatever1' })
    expectEvent(unknown.events, 'auth.login.failure', null, unknown.id)
    const wrong1 = await call('POST', '/login', { email: user.email, password: 'Wrong-pass1' })
    expectEvent(wrong1.events, 'auth.login.failure', user.userId, wrong1.id)
    const wrong2 = await call('POST', '/login', { email: user.email, password: 'Wrong-pass1' })
    expectEvent(wrong2.events, 'auth.login.failure', user.userId, wrong2.id)
    // LOGIN_LOCK_THRESHOLD=2: the next attempt from this network is refused, and logged as such.
    const locked = await call('POST', '/login', { email: user.email, password: user.password })
    expectEvent(locked.events, 'auth.login.locked', user.userId, locked.id)

    const verifyToken = tokenOf((await mailTo(mail, user.email, /confirm/i)).text, 'verify-email')
    const verified = await call('POST', '/verify-email', { token: verifyToken })
    expectEvent(verified.events, 'auth.email.verified', user.userId, verified.id)

    const forgot = await call('POST', '/forgot-password', { email: user.email })
    expectEvent(forgot.events, 'auth.password_reset.requested', user.userId, forgot.id)
    const resetToken = tokenOf((await mailTo(mail, user.email, /reset/i)).text, 'reset-password')
    const reset = await call('POST', '/reset-password', { token: resetToken, newPassword: 'Reset-Pass1' })
    expectEvent(reset.events, 'auth.password_reset.completed', user.userId, reset.id)

    const a = await call('POST', '/login', { email: user.email, password: 'Reset-Pass1' })
    const b = await call('POST', '/login', { email: user.email, password: 'Reset-Pass1' })
    const access = a.res.json().data.accessToken as string
    const changed = await call(
      'POST',
      '/change-password',
      { currentPassword: 'Reset-Pass1', newPassword: 'Changed-Pass2' },
      bearer(access),
    )
    expectEvent(changed.events, 'auth.password.changed', user.userId, changed.id)

    const c = await call('POST', '/login', { email: user.email, password: 'Changed-Pass2' })
    const sessions = (await call('GET', '/sessions', undefined, bearer(access))).res.json().data as {
      id: string
      isCurrent: boolean
    }[]
    const other = sessions.find((s) => !s.isCurrent)!
    const revoked = await call('DELETE', `/sessions/${other.id}`, undefined, bearer(access))
    expectEvent(revoked.events, 'auth.session.revoked', user.userId, revoked.id)
    expect(revoked.events[0]!.details).toEqual({ sessionId: other.id })

    const d = await call('POST', '/login', { email: user.email, password: 'Changed-Pass2' })
    const dCookie = refreshCookieOf(d.res)!.value
    const out = await call('POST', '/logout', {}, { cookie: `biore_refresh=${dCookie}` })
    expectEvent(out.events, 'auth.logout.success', user.userId, out.id)

    const e = await call('POST', '/login', { email: user.email, password: 'Changed-Pass2' })
    const eCookie = refreshCookieOf(e.res)!.value
    await call('POST', '/refresh', {}, { cookie: `biore_refresh=${eCookie}` })
    const reuse = await call('POST', '/refresh', {}, { cookie: `biore_refresh=${eCookie}` })
    expectEvent(reuse.events, 'auth.refresh.reuse_detected', user.userId, reuse.id)

    expect([...seen].sort()).toEqual([...AUDIT_EVENTS].sort())
    expect([b, c].every((x) => x.res.statusCode === 200)).toBe(true)
  })

  it('an action that fails writes no event (same transaction)', async () => {
    const user = await registerUser(h.app)
    const res = await call(
      'POST',
      '/change-password',
      { currentPassword: user.password, newPassword: user.password },
      bearer(user.accessToken),
    )
    expect(res.res.statusCode).toBe(400)
    expect(res.events).toEqual([])
  })

  it('is append-only: an UPDATE is refused by the database', async () => {
    await registerUser(h.app)
    const err = await h.database.db
      .execute(sql`update auth_audit_events set user_id = null`)
      .catch((e: unknown) => e)
    expect((err as { cause?: { message?: string } }).cause?.message).toMatch(/append-only/)
    const [row] = await query<{ n: number }>(
      h,
      sql`select count(*)::int as n from auth_audit_events where user_id is not null`,
    )
    expect(row!.n).toBeGreaterThan(0)
  })

  it('prunes events older than AUDIT_RETENTION_DAYS in batches, keeping the rest', async () => {
    const old = new Date(clock.now().getTime() - 31 * 86_400_000).toISOString()
    const recent = new Date(clock.now().getTime() - 29 * 86_400_000).toISOString()
    await h.database.db.execute(
      sql`insert into auth_audit_events (event, created_at) values ('auth.login.failure', ${recent}::timestamptz)`,
    )
    await h.database.db.execute(
      sql`insert into auth_audit_events (event, created_at) select 'auth.login.failure', ${old}::timestamptz from generate_series(1, 2500)`,
    )
    const [before] = await query<{ n: number }>(h, sql`select count(*)::int as n from auth_audit_events`)
    expect(await h.app.pruneAuditEvents()).toBe(2500)
    const [after] = await query<{ n: number; oldest: Date }>(
      h,
      sql`select count(*)::int as n, min(created_at) as oldest from auth_audit_events`,
    )
    expect(after!.n).toBe(before!.n - 2500)
    expect(new Date(after!.oldest).getTime()).toBeGreaterThan(clock.now().getTime() - 30 * 86_400_000)
    expect(await h.app.pruneAuditEvents()).toBe(0)
  })
})
