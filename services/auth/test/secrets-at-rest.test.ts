import { loggerOptions } from '@bio/service-kit'
import { captureLogs, type LogCapture } from '@bio/service-kit/testing'
import { sql } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildAuthApp } from '../src/app.js'
import {
  AUTH,
  type AuthApp,
  bearer,
  fastHasher,
  newUser,
  query,
  refreshCookieOf,
  testConfig,
  useAuthHarness,
} from './helper.js'
import { memoryTransport, tokenOf } from './mail-capture.js'

/**
 * The account flows (verify, forgot/reset, change, sessions, reuse) with logs at trace level: no
 * mailed token, password or refresh token appears in any log line or, in raw form, in any column
 * of any table (every row of every table is read back and searched).
 */

let app: AuthApp
let cap: LogCapture
const mail = memoryTransport()

const h = useAuthHarness({ app: false })

beforeAll(async () => {
  cap = captureLogs()
  const config = testConfig(
    { RATE_LIMIT_ENABLED: 'false', LOG_LEVEL: 'trace', REFRESH_REUSE_GRACE_S: '0' },
    h.testDb.url,
  )
  app = await buildAuthApp({
    config,
    database: h.database,
    hasher: fastHasher(),
    mailTransport: mail,
    logger: { ...(loggerOptions(config.http) as object), stream: cap.stream },
  })
  await app.ready()
})
afterAll(async () => {
  await app?.close()
})

const post = (path: string, payload: object, headers: Record<string, string> = {}) =>
  app.inject({ method: 'POST', url: `${AUTH}${path}`, payload, headers })

describe('secrets at rest', () => {
  it('no token or password in any log line or database column', async () => {
    const secrets: string[] = []
    const body = newUser()
    const email = String(body.email)
    secrets.push(String(body.password))
    const reg = await post('/register', body)
    secrets.push(refreshCookieOf(reg)!.value)
    const verifyToken = tokenOf((await mail.next((m) => m.to === email)).text, 'verify-email')
    secrets.push(verifyToken)
    expect((await post('/verify-email', { token: verifyToken })).statusCode).toBe(200)

    expect((await post('/forgot-password', { email })).statusCode).toBe(200)
    const resetToken = tokenOf(
      (await mail.next((m) => m.to === email && /reset/i.test(m.subject))).text,
      'reset-password',
    )
    secrets.push(resetToken, 'Reset-Secret-1')
    expect(
      (await post('/reset-password', { token: resetToken, newPassword: 'Reset-Secret-1' })).statusCode,
    ).toBe(200)

    const signedIn = await post('/login', { email, password: 'Reset-Secret-1' })
    const access = signedIn.json().data.accessToken as string
    secrets.push(refreshCookieOf(signedIn)!.value)
    secrets.push('Wrong-Secret-9', 'Changed-Secret-2')
    expect(
      (
        await post(
          '/change-password',
          { currentPassword: 'Wrong-Secret-9', newPassword: 'Changed-Secret-2' },
          bearer(access),
        )
      ).statusCode,
    ).toBe(401)
    expect(
      (
        await post(
          '/change-password',
          { currentPassword: 'Reset-Secret-1', newPassword: 'Changed-Secret-2' },
          bearer(access),
        )
      ).statusCode,
    ).toBe(200)

    const again = await post('/login', { email, password: 'Changed-Secret-2' })
    const stolen = refreshCookieOf(again)!.value
    secrets.push(stolen)
    const rotated = await post('/refresh', { refreshToken: stolen })
    secrets.push(refreshCookieOf(rotated)!.value)
    expect((await post('/refresh', { refreshToken: stolen })).statusCode).toBe(401)
    await app.mailOutbox.idle()

    // Logs.
    expect(cap.lines.length).toBeGreaterThan(0)
    for (const line of cap.lines)
      for (const s of secrets)
        expect(line.includes(s), `log line holds ${s.slice(0, 8)}…: ${line.slice(0, 200)}`).toBe(false)

    // Every column of every table.
    const tables = await query<{ table_name: string }>(
      h,
      sql`select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE'`,
    )
    expect(tables.map((t) => t.table_name)).toEqual(
      expect.arrayContaining(['mail_outbox', 'account_tokens', 'auth_audit_events']),
    )
    for (const { table_name } of tables) {
      const dump = JSON.stringify(await query(h, sql`select * from ${sql.identifier(table_name)}`))
      for (const s of secrets) expect(dump.includes(s), `${table_name} holds ${s.slice(0, 8)}…`).toBe(false)
    }
    // Several due rows are sent concurrently, so compare without order.
    expect(
      mail.mails
        .filter((m) => m.to === email)
        .map((m) => m.subject)
        .sort(),
    ).toEqual([
      'Confirm your e-mail address',
      'Reset your password',
      'Security alert: we signed you out everywhere',
      'Your password was changed',
      'Your password was changed',
    ])
  })
})
