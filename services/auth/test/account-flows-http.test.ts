import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { smtpTransport } from '../src/mail/mail-transport.js'
import { newUser, testConfig, useAuthHarness } from './helper.js'
import { type SmtpSink, smtpSink, tokenOf } from './mail-capture.js'

/**
 * The four account flows as a browser and a mailbox see them: real HTTP to a listening server,
 * real SMTP to a server started here, links read from the parsed mail.
 */

let sink: SmtpSink
let base: string
const APP_URL = 'https://app.example.test'

const h = useAuthHarness({ app: false })

beforeAll(async () => {
  sink = await smtpSink()
  const env = { SMTP_URL: sink.url, APP_URL, MAIL_POLL_INTERVAL_MS: '600000' }
  const app = await h.build({ env, mail: smtpTransport(testConfig(env, h.testDb.url).mail) })
  base = `${await app.listen({ port: 0, host: '127.0.0.1' })}/api/v1/auth`
})
afterAll(async () => {
  await sink?.stop()
})

interface Answer {
  status: number
  body: { success: boolean; data?: Record<string, unknown>; error?: { code: string } }
  cookie: string | undefined
}

/** One HTTP call; `cookie` is the refresh token to send as `biore_refresh`. */
async function call(
  method: string,
  path: string,
  options: { body?: unknown; bearer?: string; cookie?: string; ua?: string } = {},
): Promise<Answer> {
  const headers: Record<string, string> = {}
  if (options.body !== undefined) headers['content-type'] = 'application/json'
  if (options.bearer) headers.authorization = `Bearer ${options.bearer}`
  if (options.cookie) headers.cookie = `biore_refresh=${options.cookie}`
  if (options.ua) headers['user-agent'] = options.ua
  const res = await fetch(`${base}${path}`, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  })
  const set = res.headers.getSetCookie().find((c) => c.startsWith('biore_refresh='))
  return {
    status: res.status,
    body: (await res.json()) as Answer['body'],
    cookie: set ? set.slice('biore_refresh='.length, set.indexOf(';')) : undefined,
  }
}

const mailLink = async (to: string, page: 'verify-email' | 'reset-password') => {
  const mail = await sink.next((m) => m.envelopeTo.includes(to) && (m.text ?? '').includes(`/${page}?token=`))
  expect(mail.text).toContain(`${APP_URL}/${page}?token=`)
  expect(mail.html).toContain(`${APP_URL}/${page}?token=`)
  return tokenOf(mail.text ?? '', page)
}

async function signUp() {
  const body = newUser()
  const res = await call('POST', '/register', { body })
  expect(res.status).toBe(201)
  return {
    email: String(body.email),
    password: String(body.password),
    accessToken: res.body.data!.accessToken as string,
    cookie: res.cookie!,
  }
}

describe('account flows over HTTP and SMTP', () => {
  it('register → mail → verify → /me says verified', async () => {
    const user = await signUp()
    expect((await call('GET', '/me', { bearer: user.accessToken })).body.data!.emailVerified).toBe(false)
    const token = await mailLink(user.email, 'verify-email')
    const verified = await call('POST', '/verify-email', { body: { token } })
    expect(verified).toMatchObject({ status: 200, body: { success: true } })
    expect((await call('GET', '/me', { bearer: user.accessToken })).body.data!.emailVerified).toBe(true)
  })

  it('forgot → mail → reset → old refresh cookies refused, old password refused, new one works', async () => {
    const user = await signUp()
    const second = await call('POST', '/login', { body: { email: user.email, password: user.password } })
    expect((await call('POST', '/forgot-password', { body: { email: user.email } })).status).toBe(200)
    const token = await mailLink(user.email, 'reset-password')
    const reset = await call('POST', '/reset-password', { body: { token, newPassword: 'Reset-Pass-77' } })
    expect(reset).toMatchObject({ status: 200, body: { success: true } })
    for (const cookie of [user.cookie, second.cookie!])
      expect((await call('POST', '/refresh', { cookie })).status).toBe(401)
    const old = await call('POST', '/login', { body: { email: user.email, password: user.password } })
    expect(old.body.error?.code).toBe('INVALID_CREDENTIALS')
    expect(
      (await call('POST', '/login', { body: { email: user.email, password: 'Reset-Pass-77' } })).status,
    ).toBe(200)
    const notice = await sink.next(
      (m) => m.envelopeTo.includes(user.email) && m.subject === 'Your password was changed',
    )
    expect(notice.text).toContain(`${APP_URL}/forgot-password`)
  })

  it('change password → other sessions gone, current one kept', async () => {
    const user = await signUp()
    const other = await call('POST', '/login', { body: { email: user.email, password: user.password } })
    const changed = await call('POST', '/change-password', {
      bearer: user.accessToken,
      body: { currentPassword: user.password, newPassword: 'Changed-Pass-88' },
    })
    expect(changed).toMatchObject({ status: 200, body: { success: true } })
    expect((await call('POST', '/refresh', { cookie: other.cookie! })).status).toBe(401)
    const kept = await call('POST', '/refresh', { cookie: user.cookie })
    expect(kept.status).toBe(200)
    expect(kept.cookie).toBeTruthy()
  })

  it('sessions: list, revoke one, revoke all', async () => {
    const user = await signUp()
    const chrome =
      'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36'
    const b = await call('POST', '/login', {
      body: { email: user.email, password: user.password },
      ua: chrome,
    })
    const c = await call('POST', '/login', { body: { email: user.email, password: user.password } })
    const listed = await call('GET', '/sessions', { bearer: user.accessToken })
    const sessions = listed.body.data as unknown as {
      id: string
      device: string | null
      isCurrent: boolean
      ipMasked: string
    }[]
    expect(sessions).toHaveLength(3)
    expect(sessions.filter((s) => s.isCurrent)).toHaveLength(1)
    expect(sessions.every((s) => s.ipMasked === '127.0.0.***')).toBe(true)
    expect(sessions.map((s) => s.device)).toContain('Chrome on Linux')

    const bId = sessions.find((s) => s.device === 'Chrome on Linux')!.id
    expect((await call('DELETE', `/sessions/${bId}`, { bearer: user.accessToken })).status).toBe(200)
    expect((await call('POST', '/refresh', { cookie: b.cookie! })).status).toBe(401)
    const current = sessions.find((s) => s.isCurrent)!.id
    expect(
      (await call('DELETE', `/sessions/${current}`, { bearer: user.accessToken })).body.error?.code,
    ).toBe('SESSION_CANNOT_REVOKE_CURRENT')

    expect((await call('POST', '/sessions/revoke-all', { bearer: user.accessToken })).status).toBe(200)
    expect((await call('POST', '/refresh', { cookie: c.cookie! })).status).toBe(401)
    const left = (await call('GET', '/sessions', { bearer: user.accessToken })).body.data as unknown as {
      isCurrent: boolean
    }[]
    expect(left).toEqual([expect.objectContaining({ isCurrent: true })])
    expect((await call('POST', '/refresh', { cookie: user.cookie })).status).toBe(200)
  })
})
