import { describe, expect, it } from 'vitest'
import { looksReserved, usernameSkeleton } from '../src/lib/username-fold.js'
import { AUTH, countUsers, expectError, newUser, useAuthHarness, userById } from './helper.js'

/**
 * Register refuses what would let one user pass for another or smuggle markup: names drawn like a
 * reserved one, URLs that are not http(s), control and bidi characters in free text.
 */

const h = useAuthHarness()

const register = (payload: unknown) =>
  h.app.inject({ method: 'POST', url: `${AUTH}/register`, payload: payload as object })

/** Asserts a 400 VALIDATION_FAILED naming `field`, and that no user was written. */
async function expectRefusedField(payload: Record<string, unknown>, field: string) {
  const before = await countUsers(h)
  const error = expectError(await register(payload), 400, 'VALIDATION_FAILED')
  expect(error.details?.map((d) => d.field)).toContain(field)
  expect(await countUsers(h)).toBe(before)
}

describe('reserved usernames, compared by their look-alike skeleton', () => {
  it.each([
    'admin.',
    '.admin',
    'a-d-m-i-n',
    'a.d.m.i.n',
    '_admin_',
    'adm1n',
    'adm-1-n',
    'adrnin',
    'supp0rt',
    's.u.p.p.o.r.t',
    'r00t',
    'ａｄｍｉｎ',
    'ＳＵＰＰＯＲＴ',
  ])('%s → 409 USERNAME_RESERVED', async (username) => {
    const before = await countUsers(h)
    expectError(
      await register(newUser({ username })),
      409,
      'USERNAME_RESERVED',
      'auth.register.username_reserved',
    )
    expect(await countUsers(h)).toBe(before)
  })

  it('letters of other scripts cannot be stored at all (400 on username), whatever they look like', async () => {
    for (const username of ['аdmin', 'αdmin', 'admіn'])
      await expectRefusedField(newUser({ username }), 'username')
  })

  it('names that only share letters with a reserved one are accepted', async () => {
    for (const base of ['admiral', 'administrata', 'supporter', 'rooted', 'bob.smith']) {
      const username = `${base}${Date.now() % 1000}`.slice(0, 30)
      const res = await register(newUser({ username }))
      expect(res.statusCode, `${username}: ${res.body}`).toBe(201)
    }
  })

  it('a full-width name is stored as its plain form (NFKC)', async () => {
    const res = await register(newUser({ username: 'ａｌｉｃｅ．ｆｗ' }))
    expect(res.statusCode, res.body).toBe(201)
    expect((await userById(h, res.json().data.userId))!.username).toBe('alice.fw')
  })

  it('the skeleton folds separators, case, compatibility forms, marks and other scripts', () => {
    const admin = usernameSkeleton('admin')
    for (const lookalike of [
      'ADMIN',
      'a_d-m.i n',
      'ａｄｍｉｎ',
      'àdmîn',
      'аdmin', // Cyrillic а
      'admіn', // Cyrillic і
      'αdmιn', // Greek α and ι
      'ａｄｍ１ｎ',
      'adm|n',
      'adrnin',
      'ᴀᴅᴍɪɴ', // small capitals
    ])
      expect(usernameSkeleton(lookalike), lookalike).toBe(admin)
    expect(usernameSkeleton('ѕиррогт')).not.toBe(usernameSkeleton('support'))
    expect(usernameSkeleton('ѕuppоrt')).toBe(usernameSkeleton('support'))
    expect(looksReserved('---', ['admin'])).toBe(false)
    expect(looksReserved('Ａdmin.', ['help', 'admin'])).toBe(true)
    expect(looksReserved('adminx', ['admin'])).toBe(false)
  })
})

describe('first-touch URLs: http(s) only', () => {
  it.each([
    'javascript:alert(1)',
    'JaVaScRiPt:alert(1)',
    'data:text/html,<script>alert(1)</script>',
    'vbscript:msgbox(1)',
    'ftp://files.example/x',
    'mailto:a@example.com',
    '//evil.example/path',
    '/relative/path',
    'http://',
    'https:///no-host',
    'https://user@evil.example/',
    'http://exa mple.com/',
    'https://example.com/\u0000',
    'https://example.com/a\nb',
    ' https://example.com/',
    'not a url',
  ])('%j → 400 on the field', async (url) => {
    await expectRefusedField(newUser({ firstReferrerUrl: url }), 'firstReferrerUrl')
    await expectRefusedField(newUser({ firstLandingPage: url }), 'firstLandingPage')
  })

  it('accepts and stores http and https URLs as given', async () => {
    const referrer = 'HTTPS://Search.Example/results?q=bio%20re&x=1#top'
    const landing = 'http://localhost:3000/join?utm_source=x'
    const res = await register(newUser({ firstReferrerUrl: referrer, firstLandingPage: landing }))
    expect(res.statusCode, res.body).toBe(201)
    const row = (await userById(h, res.json().data.userId))!
    expect(row.firstReferrerUrl).toBe(referrer)
    expect(row.firstLandingPage).toBe(landing)
  })
})

describe('free text refuses control and bidi-override characters', () => {
  const bad = {
    bell: 'Ada\u0007',
    escape: '\u001b[31mAda',
    newline: 'Ada\nLovelace',
    tab: 'Ada\tL',
    delete: 'Ada\u007f',
    c1: 'Ada\u0085',
    'right-to-left override': 'Ada\u202eecalevol',
    'bidi isolate': '\u2066Ada\u2069',
    'right-to-left mark': 'Ada\u200f',
  }
  const fields = [
    'displayName',
    'utmSource',
    'utmMedium',
    'utmCampaign',
    'utmTerm',
    'utmContent',
    'referralCode',
    'captchaToken',
  ]

  it.each(Object.entries(bad))(
    '%s → 400 naming the field, in every free-text field',
    async (_what, value) => {
      for (const field of fields) await expectRefusedField(newUser({ [field]: value }), field)
    },
  )

  it('keeps what people write: accents, other scripts, emoji with joiners', async () => {
    const displayName = 'Zoë Ωmega 李 👩‍💻 Åsa-Li O’Neil'
    const res = await register(newUser({ displayName }))
    expect(res.statusCode, res.body).toBe(201)
    expect((await userById(h, res.json().data.userId))!.displayName).toBe(displayName)
  })
})
