import { type DatabaseHandle, openDatabase, rowsOf } from '@bio/service-kit'
import { eq, sql } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildAuthApp } from '../src/app.js'
import { MIGRATIONS_FOLDER } from '../src/db/migrations.js'
import { type AuthSchema, schema, users } from '../src/db/schema.js'
import { parseArgon2Phc } from '../src/domain/phc-argon2.js'
import {
  AUTH,
  type AuthApp,
  bearer,
  expectError,
  fastHasher,
  login,
  me,
  newUser,
  refreshCookieOf,
  refreshWithBody,
  refreshWithCookie,
  registerUser,
  testConfig,
} from './helper.js'
import { memoryTransport, tokenOf } from './mail-capture.js'

/** The embedded database path (no AUTH_DATABASE_URL): PGlite in memory, the same migrations and routes. */

let database: DatabaseHandle<AuthSchema>
let app: AuthApp
const mail = memoryTransport()

beforeAll(async () => {
  const config = testConfig({ RATE_LIMIT_ENABLED: 'false', REFRESH_REUSE_GRACE_S: '0' })
  expect(config.db.url).toBeUndefined()
  database = await openDatabase({ ...config.db, url: undefined, dataDir: 'memory://' }, schema)
  expect(database.kind).toBe('pglite')
  await database.migrate(MIGRATIONS_FOLDER)
  app = await buildAuthApp({ config, database, hasher: fastHasher(), logger: false, mailTransport: mail })
})
afterAll(async () => {
  await app?.close()
  await database?.close()
})

describe('auth over PGlite', () => {
  it('register → login → refresh → me', async () => {
    const user = await registerUser(app, {
      username: `Pg${Date.now()}`.slice(0, 30),
      displayName: 'Embedded',
    })

    const signedIn = await login(app, user.email.toUpperCase(), user.password)
    expect(signedIn.statusCode, signedIn.body).toBe(200)
    const loginToken = refreshCookieOf(signedIn)!.value

    const refreshed = await refreshWithCookie(app, loginToken)
    expect(refreshed.statusCode, refreshed.body).toBe(200)
    const accessToken = refreshed.json().data.accessToken as string

    const profile = await me(app, accessToken)
    expect(profile.statusCode, profile.body).toBe(200)
    expect(profile.json().data).toMatchObject({
      id: user.userId,
      email: user.email,
      displayName: 'Embedded',
      status: 'ACTIVE',
      emailVerified: false,
    })
  })

  it('maps unique violations to 409 EMAIL_TAKEN / USERNAME_TAKEN and reserved names', async () => {
    const username = `pgdup${Date.now()}`.slice(0, 30)
    const user = await registerUser(app, { username })
    const post = (payload: object) => app.inject({ method: 'POST', url: `${AUTH}/register`, payload })
    expectError(await post(newUser({ email: user.email.toUpperCase() })), 409, 'EMAIL_TAKEN')
    expectError(await post(newUser({ username: username.toUpperCase() })), 409, 'USERNAME_TAKEN')
    expectError(await post(newUser({ username: 'admin' })), 409, 'USERNAME_RESERVED')
    expectError(await post(newUser({ username: 'a-d-m-1-n' })), 409, 'USERNAME_RESERVED')
  })

  it('stores standard PHC hashes, and the sign-in throttle locks one network, not the owner', async () => {
    const user = await registerUser(app)
    const [row] = await database.db
      .select({ hash: users.passwordHash })
      .from(users)
      .where(eq(users.id, user.userId))
    expect(parseArgon2Phc(row!.hash!)).toBeDefined()
    const from = (ip: string, password: string) =>
      app.inject({
        method: 'POST',
        url: `${AUTH}/login`,
        payload: { email: user.email, password },
        remoteAddress: ip,
      })
    for (let i = 0; i < 5; i++)
      expectError(await from('192.0.2.7', 'Wrong-Password-1'), 401, 'INVALID_CREDENTIALS')
    expectError(await from('192.0.2.7', user.password), 401, 'ACCOUNT_LOCKED')
    expect((await from('192.0.2.8', user.password)).statusCode).toBe(200)
    const ghost = `ghost.${Date.now()}@example.com`
    for (let i = 0; i < 5; i++)
      expectError(await login(app, ghost, 'Wrong-Password-1'), 401, 'INVALID_CREDENTIALS')
    expectError(await login(app, ghost, 'Wrong-Password-1'), 401, 'ACCOUNT_LOCKED')
  })

  it('detects refresh-token reuse and revokes the newest token too', async () => {
    const user = await registerUser(app)
    const rotated = await refreshWithBody(app, user.refreshToken)
    expect(rotated.statusCode).toBe(200)
    const newest = refreshCookieOf(rotated)!.value
    expectError(await refreshWithBody(app, user.refreshToken), 401, 'REFRESH_TOKEN_REUSED')
    expectError(await refreshWithBody(app, newest), 401, 'INVALID_REFRESH_TOKEN')
  })

  it('logout revokes the session; /readyz answers', async () => {
    const user = await registerUser(app)
    const out = await app.inject({
      method: 'POST',
      url: `${AUTH}/logout`,
      payload: { refreshToken: user.refreshToken },
    })
    expect(out.statusCode).toBe(200)
    expectError(await refreshWithBody(app, user.refreshToken), 401, 'INVALID_REFRESH_TOKEN')
    expect((await app.inject({ method: 'GET', url: '/readyz' })).json().data.status).toBe('ready')
  })

  it('rejects unstorable input with 400, not a driver error', async () => {
    const res = await app.inject({
      method: 'POST',
      url: `${AUTH}/register`,
      payload: newUser({ displayName: 'nul\u0000byte' }),
    })
    expectError(res, 400, 'VALIDATION_FAILED')
  })

  it('verify-email, forgot/reset, change-password and sessions, with their errors and audit events', async () => {
    const user = await registerUser(app)
    const post = (path: string, payload: object, headers: Record<string, string> = {}) =>
      app.inject({ method: 'POST', url: `${AUTH}${path}`, payload, headers })
    const verifyToken = tokenOf((await mail.next((m) => m.to === user.email)).text, 'verify-email')
    expect((await post('/verify-email', { token: verifyToken })).json()).toEqual({ success: true })
    expect((await post('/verify-email', { token: verifyToken })).statusCode).toBe(200)
    expectError(
      await post('/verify-email', { token: '0b6f8a47-1c51-4d0c-9d5e-0f1c2b3a4d5e' }),
      400,
      'VERIFY_EMAIL_INVALID_TOKEN',
    )
    expect((await me(app, user.accessToken)).json().data.emailVerified).toBe(true)
    expect((await post('/resend-verification', { email: user.email })).statusCode).toBe(200)

    const other = await login(app, user.email, user.password)
    expect((await post('/forgot-password', { email: user.email })).statusCode).toBe(200)
    const resetToken = tokenOf(
      (await mail.next((m) => m.to === user.email && /reset/i.test(m.subject))).text,
      'reset-password',
    )
    expect(
      (await post('/reset-password', { token: resetToken, newPassword: 'Pglite-Reset1' })).statusCode,
    ).toBe(200)
    expectError(
      await post('/reset-password', { token: resetToken, newPassword: 'Pglite-Reset2' }),
      400,
      'RESET_PASSWORD_INVALID_TOKEN',
    )
    expectError(await refreshWithBody(app, refreshCookieOf(other)!.value), 401)

    const a = await login(app, user.email, 'Pglite-Reset1')
    const b = await login(app, user.email, 'Pglite-Reset1')
    const access = a.json().data.accessToken as string
    expectError(
      await post(
        '/change-password',
        { currentPassword: 'Pglite-Reset1', newPassword: 'Pglite-Reset1' },
        bearer(access),
      ),
      400,
      'CHANGE_PASSWORD_SAME_AS_CURRENT',
    )
    expectError(
      await post(
        '/change-password',
        { currentPassword: 'Nope-Nope1', newPassword: 'Pglite-Change1' },
        bearer(access),
      ),
      401,
      'CHANGE_PASSWORD_INVALID_CURRENT',
    )
    expect(
      (
        await post(
          '/change-password',
          { currentPassword: 'Pglite-Reset1', newPassword: 'Pglite-Change1' },
          bearer(access),
        )
      ).statusCode,
    ).toBe(200)
    expectError(await refreshWithBody(app, refreshCookieOf(b)!.value), 401)

    await login(app, user.email, 'Pglite-Change1')
    await login(app, user.email, 'Pglite-Change1')
    const sessions = (
      await app.inject({ method: 'GET', url: `${AUTH}/sessions`, headers: bearer(access) })
    ).json().data as { id: string; isCurrent: boolean }[]
    expect(sessions).toHaveLength(3)
    const current = sessions.find((s) => s.isCurrent)!
    const del = (id: string) =>
      app.inject({ method: 'DELETE', url: `${AUTH}/sessions/${id}`, headers: bearer(access) })
    expectError(await del(current.id), 400, 'SESSION_CANNOT_REVOKE_CURRENT')
    expect((await del(sessions.find((s) => !s.isCurrent)!.id)).statusCode).toBe(200)
    expectError(await del('0b6f8a47-1c51-4d0c-9d5e-0f1c2b3a4d5e'), 404, 'SESSION_NOT_FOUND')
    expect((await post('/sessions/revoke-all', {}, bearer(access))).statusCode).toBe(200)
    const left = (
      await app.inject({ method: 'GET', url: `${AUTH}/sessions`, headers: bearer(access) })
    ).json().data
    expect(left).toEqual([expect.objectContaining({ id: current.id, isCurrent: true })])

    const events = rowsOf<{ event: string }>(
      await database.db.execute(
        sql`select distinct event from auth_audit_events where user_id = ${user.userId}`,
      ),
    ).map((e) => e.event)
    expect(events).toEqual(
      expect.arrayContaining([
        'auth.email.verified',
        'auth.password_reset.completed',
        'auth.password.changed',
        'auth.session.revoked',
      ]),
    )
  })
})
