import { describe, expect, it } from 'vitest'
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
  useAuthHarness,
  userById,
} from './helper.js'
import { memoryTransport } from './mail-capture.js'

/** POST /change-password (contract 3.8) over inject and a real PostgreSQL. */

const mail = memoryTransport()
const NEW_PASSWORD = 'Changed-Pass42'

const h = useAuthHarness({ app: { env: { LOGIN_LOCK_THRESHOLD: '3' }, mail } })

const change = (accessToken: string | undefined, payload: Record<string, unknown>) =>
  h.app.inject({
    method: 'POST',
    url: `${AUTH}/change-password`,
    headers: accessToken ? bearer(accessToken) : {},
    payload,
  })

describe('POST /change-password', () => {
  it('changes the password, keeps the caller’s session, revokes the others and mails a notice', async () => {
    const user = await registerUser(h.app)
    const other = await login(h.app, user.email, user.password)
    const otherCookie = refreshCookieOf(other)!.value
    const res = await change(user.accessToken, { currentPassword: user.password, newPassword: NEW_PASSWORD })
    expect(res.statusCode, res.body).toBe(200)
    expect(res.json()).toEqual({ success: true })

    expectError(await refreshWithCookie(h.app, otherCookie), 401)
    expect((await refreshWithCookie(h.app, user.refreshToken)).statusCode).toBe(200)
    expectError(await login(h.app, user.email, user.password), 401, 'INVALID_CREDENTIALS')
    expect((await login(h.app, user.email, NEW_PASSWORD)).statusCode).toBe(200)
    const notice = await mailTo(mail, user.email, /password was changed/i)
    expect(notice.text).toContain('/forgot-password')
  })

  it('a wrong current password is 401 auth.change_password.invalid_current and counts toward the lockout', async () => {
    const user = await registerUser(h.app)
    for (let i = 0; i < 2; i++) {
      const res = await change(user.accessToken, {
        currentPassword: 'Wrong-Pass1',
        newPassword: NEW_PASSWORD,
      })
      expectError(res, 401, 'CHANGE_PASSWORD_INVALID_CURRENT', 'auth.change_password.invalid_current')
    }
    expectError(
      await change(user.accessToken, { currentPassword: 'Wrong-Pass1', newPassword: NEW_PASSWORD }),
      401,
      'CHANGE_PASSWORD_INVALID_CURRENT',
    )
    // The third failure locked the account: login and change-password both refuse, even with the right password.
    expectError(await login(h.app, user.email, user.password), 401, 'ACCOUNT_LOCKED')
    expectError(
      await change(user.accessToken, { currentPassword: user.password, newPassword: NEW_PASSWORD }),
      401,
      'ACCOUNT_LOCKED',
    )
    expect((await userById(h, user.userId))!.passwordHash).toBeTruthy()
  })

  it('the same password again is 400 auth.change_password.same_as_current and changes nothing', async () => {
    const user = await registerUser(h.app)
    const before = await sessionsOf(h, user.userId)
    expectError(
      await change(user.accessToken, { currentPassword: user.password, newPassword: user.password }),
      400,
      'CHANGE_PASSWORD_SAME_AS_CURRENT',
      'auth.change_password.same_as_current',
    )
    expect(await sessionsOf(h, user.userId)).toEqual(before)
  })

  it('needs a bearer token', async () => {
    expectError(await change(undefined, { currentPassword: 'Aa1aaaaa', newPassword: NEW_PASSWORD }), 401)
    expectError(await change('not-a-jwt', { currentPassword: 'Aa1aaaaa', newPassword: NEW_PASSWORD }), 401)
  })

  it.each([
    ['a weak new password', { currentPassword: 'Whatever1', newPassword: 'weakweakweak' }],
    ['no current password', { newPassword: NEW_PASSWORD }],
    ['an empty current password', { currentPassword: '', newPassword: NEW_PASSWORD }],
    ['no new password', { currentPassword: 'Whatever1' }],
    ['an extra field', { currentPassword: 'Whatever1', newPassword: NEW_PASSWORD, userId: 'x' }],
  ])('bad input (%s) is a 400 VALIDATION_FAILED envelope', async (_n, payload) => {
    const user = await registerUser(h.app)
    expectError(await change(user.accessToken, payload), 400, 'VALIDATION_FAILED')
  })
})
