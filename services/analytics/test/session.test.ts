import { createTrackingToken, TRACKING_BUCKET_MS } from '@bio/contracts'
import { describe, expect, it } from 'vitest'
import {
  type AnalyticsApp,
  CHROME_UA,
  createSession,
  dumpDatabase,
  expectedVisitorHash,
  expectNullId,
  IPHONE_UA,
  postSession,
  recordingGeo,
  rowCounts,
  sessionBody,
  sessionRow,
  TRACKING_SECRET,
  testClock,
  UUID_RE,
  useAnalyticsHarness,
} from './helper.js'

const h = useAnalyticsHarness()

const BIO_PAGE = '3b0f6b8e-1c2d-4e5f-8a9b-0c1d2e3f4a5b'
const OTHER_PAGE = '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d'
/** Two minutes into a bucket, so "previous bucket" and "two buckets ago" are unambiguous. */
const T0 = Math.floor(Date.now() / TRACKING_BUCKET_MS) * TRACKING_BUCKET_MS + 120_000

/** Sends the body and asserts the silent null answer and that not a single row was written. */
async function expectSilentNull(
  target: AnalyticsApp,
  body: Record<string, unknown>,
  headers: Record<string, string>,
) {
  const before = await rowCounts(h)
  const res = await postSession(target, body, headers)
  expectNullId(res)
  expect(await rowCounts(h)).toEqual(before)
  const visitorId = body.visitorId
  if (typeof visitorId === 'string')
    expect(await dumpDatabase(h)).not.toContain(expectedVisitorHash(visitorId))
}

describe('POST /session: tracked', () => {
  it('answers 200 { id } and stores the session with its defaults', async () => {
    const body = sessionBody({ timezone: 'Europe/Istanbul', landingPage: '/x', utmSource: 'news' })
    const res = await postSession(h.app, body)
    expect(res.statusCode, res.body).toBe(200)
    const json = res.json()
    expect(Object.keys(json).sort()).toEqual(['data', 'success'])
    expect(json.success).toBe(true)
    expect(Object.keys(json.data)).toEqual(['id'])
    expect(json.data.id).toMatch(UUID_RE)
    const row = await sessionRow(h, json.data.id)
    expect(row).toMatchObject({
      visitorId: expectedVisitorHash(String(body.visitorId)),
      userId: null,
      bioPageId: null,
      device: 'desktop',
      browser: 'Chrome',
      os: 'Windows',
      timezone: 'Europe/Istanbul',
      landingPage: '/x',
      utmSource: 'news',
      referrerDomain: 'direct',
      pageViews: 0,
      bounced: true,
      duration: 0,
    })
  })

  it('stores startedAt and lastActivityAt from the injected clock', async () => {
    const at = Date.parse('2026-03-04T05:06:07.000Z')
    const clocked = await h.build({ now: () => at })
    const id = await createSession(clocked)
    const row = await sessionRow(h, id)
    expect(row!.startedAt.toISOString()).toBe('2026-03-04T05:06:07.000Z')
    expect(row!.lastActivityAt.toISOString()).toBe('2026-03-04T05:06:07.000Z')
  })
})

describe('POST /session: silent null, nothing written', () => {
  it.each([
    ['Googlebot', 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)'],
    ['curl', 'curl/8.4.0'],
    ['python-requests', 'python-requests/2.31.0'],
    [
      'HeadlessChrome',
      'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36',
    ],
    ['an empty UA', ''],
    ['a blank UA', '   '],
  ])('for a bot: %s', async (_name, ua) => {
    await expectSilentNull(h.app, sessionBody(), { 'user-agent': ua })
  })

  it('for a missing User-Agent header', async () => {
    await expectSilentNull(h.app, sessionBody(), {})
  })

  it.each([
    ['missing', undefined],
    ['Granted', 'Granted'],
    ['yes', 'yes'],
    ['denied', 'denied'],
    ['granted with a space', 'granted '],
    ['empty', ''],
  ])('when consentAnalytics is %s', async (_name, consent) => {
    const body = sessionBody()
    if (consent === undefined) delete (body as Record<string, unknown>).consentAnalytics
    else body.consentAnalytics = consent
    await expectSilentNull(h.app, body, { 'user-agent': CHROME_UA })
  })

  it('for bioPageId without trackingToken', async () => {
    await expectSilentNull(h.app, sessionBody({ bioPageId: BIO_PAGE }), { 'user-agent': CHROME_UA })
  })

  it.each([
    ['a wrong token', () => 'f'.repeat(32)],
    ['an empty token', () => ''],
    ['a token cut short', () => createTrackingToken(TRACKING_SECRET, BIO_PAGE, T0).slice(0, 31)],
    ['an upper-cased token', () => createTrackingToken(TRACKING_SECRET, BIO_PAGE, T0).toUpperCase()],
    ['a token signed with another secret', () => createTrackingToken('x'.repeat(40), BIO_PAGE, T0)],
    [
      'a token of two buckets ago',
      () => createTrackingToken(TRACKING_SECRET, BIO_PAGE, T0 - 2 * TRACKING_BUCKET_MS),
    ],
    [
      'a token of the next bucket',
      () => createTrackingToken(TRACKING_SECRET, BIO_PAGE, T0 + TRACKING_BUCKET_MS),
    ],
    ['a token for another bioPageId', () => createTrackingToken(TRACKING_SECRET, OTHER_PAGE, T0)],
    ['32 non-ASCII characters', () => 'é'.repeat(32)],
  ])('for bioPageId with %s', async (_name, token) => {
    const clocked = await h.build({ now: () => T0 })
    await expectSilentNull(clocked, sessionBody({ bioPageId: BIO_PAGE, trackingToken: token() }), {
      'user-agent': CHROME_UA,
    })
  })

  it('for a token that expires as the clock moves two buckets on', async () => {
    const clock = testClock(T0)
    const clocked = await h.build({ now: clock.nowMs })
    const trackingToken = createTrackingToken(TRACKING_SECRET, BIO_PAGE, T0)
    clock.advance(2 * TRACKING_BUCKET_MS)
    await expectSilentNull(clocked, sessionBody({ bioPageId: BIO_PAGE, trackingToken }), {
      'user-agent': CHROME_UA,
    })
  })
})

describe('POST /session: tracking token accepted', () => {
  it.each([
    ['the current bucket', 0],
    ['the previous bucket', TRACKING_BUCKET_MS],
  ])('for a token of %s, storing bio_page_id', async (_name, age) => {
    const clocked = await h.build({ now: () => T0 })
    const trackingToken = createTrackingToken(TRACKING_SECRET, BIO_PAGE, T0 - age)
    const id = await createSession(clocked, { bioPageId: BIO_PAGE, trackingToken })
    expect((await sessionRow(h, id))!.bioPageId).toBe(BIO_PAGE)
  })

  it('for a token issued one bucket ago, as the clock moves on by one bucket', async () => {
    const clock = testClock(T0)
    const clocked = await h.build({ now: clock.nowMs })
    const trackingToken = createTrackingToken(TRACKING_SECRET, BIO_PAGE, T0)
    clock.advance(TRACKING_BUCKET_MS)
    const id = await createSession(clocked, { bioPageId: BIO_PAGE, trackingToken })
    expect((await sessionRow(h, id))!.bioPageId).toBe(BIO_PAGE)
  })

  it('for an upper-case bioPageId, storing it canonically', async () => {
    const clocked = await h.build({ now: () => T0 })
    const trackingToken = createTrackingToken(TRACKING_SECRET, BIO_PAGE, T0)
    const id = await createSession(clocked, { bioPageId: BIO_PAGE.toUpperCase(), trackingToken })
    expect((await sessionRow(h, id))!.bioPageId).toBe(BIO_PAGE)
  })

  it('ignores a trackingToken sent without bioPageId', async () => {
    const id = await createSession(h.app, { trackingToken: 'f'.repeat(32) })
    expect((await sessionRow(h, id))!.bioPageId).toBeNull()
  })
})

describe('POST /session: device, browser and OS', () => {
  it('a parseable UA overrides the client hints (iPhone → mobile, Mobile Safari, iOS)', async () => {
    const id = await createSession(
      h.app,
      { device: 'desktop', browser: 'X', os: 'Windows', osVersion: '11' },
      { 'user-agent': IPHONE_UA },
    )
    expect(await sessionRow(h, id)).toMatchObject({
      device: 'mobile',
      browser: 'Mobile Safari',
      os: 'iOS',
      osVersion: '17.0',
    })
  })

  it('an iPad UA is a tablet', async () => {
    const ipad =
      'Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1'
    const id = await createSession(h.app, { device: 'desktop' }, { 'user-agent': ipad })
    expect((await sessionRow(h, id))!.device).toBe('tablet')
  })

  it('a desktop UA is desktop even when the hint says mobile', async () => {
    const id = await createSession(h.app, { device: 'mobile', browser: 'Y' })
    expect(await sessionRow(h, id)).toMatchObject({ device: 'desktop', browser: 'Chrome', os: 'Windows' })
  })

  it('an unparseable (but not bot) UA keeps the client hints', async () => {
    const hints = { device: 'tablet', browser: 'Kiosk', os: 'KioskOS', osVersion: '3.1' }
    const id = await createSession(h.app, hints, {
      'user-agent': 'Mozilla/5.0 (Zorblax) Widget/1.0 Gizmo/2.0',
    })
    expect(await sessionRow(h, id)).toMatchObject(hints)
  })

  it('an unparseable UA without hints stores nulls', async () => {
    const id = await createSession(h.app, {}, { 'user-agent': 'Mozilla/5.0 (Zorblax) Widget/1.0 Gizmo/2.0' })
    expect(await sessionRow(h, id)).toMatchObject({ device: null, browser: null, os: null, osVersion: null })
  })
})

describe('POST /session: referrer domain', () => {
  it.each([
    ['https://www.Google.com/search?q=1', 'google.com'],
    ['https://t.co/abc', 't.co'],
    ['http://sub.www.example.org:8080/x', 'sub.www.example.org'],
    [undefined, 'direct'],
    ['', 'direct'],
    ['https://[not-a-host', 'direct'],
  ])('%s → %s', async (referrer, domain) => {
    const id = await createSession(h.app, referrer === undefined ? {} : { referrer })
    const row = await sessionRow(h, id)
    expect(row!.referrerDomain).toBe(domain)
  })

  it('stores the raw referrer alongside', async () => {
    const id = await createSession(h.app, { referrer: 'https://www.Google.com/search?q=1' })
    expect((await sessionRow(h, id))!.referrer).toBe('https://www.Google.com/search?q=1')
  })
})

describe('POST /session: privacy', () => {
  it('stores neither the raw visitorId nor any caller IP, anywhere', async () => {
    const visitorId = 'raw-visitor-id-6b1f9e2a'
    const ips = { socket: '203.0.113.77', cf: '198.51.100.23', xff: '192.0.2.201' }
    const headers = {
      'user-agent': CHROME_UA,
      'cf-connecting-ip': ips.cf,
      'x-forwarded-for': `${ips.xff}, 10.0.0.1`,
      'x-real-ip': ips.xff,
    }
    const { geo } = recordingGeo({ country: 'Turkey', city: 'Istanbul' })
    for (const env of [{}, { TRUST_PROXY: 'true' }] as Record<string, string>[]) {
      const target = await h.build({ env, geo })
      const res = await postSession(target, sessionBody({ visitorId }), headers, {
        remoteAddress: ips.socket,
      })
      expect(res.json().data.id).toMatch(UUID_RE)
    }
    const dump = await dumpDatabase(h)
    expect(dump).toContain(expectedVisitorHash(visitorId))
    expect(dump).not.toContain(visitorId)
    for (const ip of Object.values(ips)) expect(dump).not.toContain(ip)
  })

  it('visitor_id is the keyed hex hash, stable for the same visitorId, distinct for another', async () => {
    const a1 = await createSession(h.app, { visitorId: 'same-visitor' })
    const a2 = await createSession(h.app, { visitorId: 'same-visitor' })
    const b = await createSession(h.app, { visitorId: 'other-visitor' })
    const [r1, r2, r3] = [await sessionRow(h, a1), await sessionRow(h, a2), await sessionRow(h, b)]
    expect(r1!.visitorId).toMatch(/^[0-9a-f]{64}$/)
    expect(r1!.visitorId).toBe(expectedVisitorHash('same-visitor'))
    expect(r2!.visitorId).toBe(r1!.visitorId)
    expect(r3!.visitorId).not.toBe(r1!.visitorId)
  })
})

describe('POST /session: GeoIP', () => {
  const headers = {
    'user-agent': CHROME_UA,
    'cf-connecting-ip': '198.51.100.23',
    'x-forwarded-for': '192.0.2.201, 10.0.0.1',
  }

  it('looks up the socket IP by default (forwarding headers are not trusted) and stores country/city', async () => {
    const { geo, seen } = recordingGeo({ country: 'Turkey', city: 'Istanbul' })
    const target = await h.build({ geo })
    const res = await postSession(target, sessionBody(), headers, { remoteAddress: '203.0.113.77' })
    expect(seen).toEqual(['203.0.113.77'])
    expect(await sessionRow(h, res.json().data.id)).toMatchObject({ country: 'Turkey', city: 'Istanbul' })
  })

  it('with TRUST_PROXY=true looks up cf-connecting-ip first', async () => {
    const { geo, seen } = recordingGeo({ country: 'United States', city: 'Ashburn' })
    const target = await h.build({ geo, env: { TRUST_PROXY: 'true' } })
    const res = await postSession(target, sessionBody(), headers, { remoteAddress: '203.0.113.77' })
    expect(seen).toEqual(['198.51.100.23'])
    expect(await sessionRow(h, res.json().data.id)).toMatchObject({
      country: 'United States',
      city: 'Ashburn',
    })
  })

  it('with TRUST_PROXY=true and no cf-connecting-ip, the first x-forwarded-for entry', async () => {
    const { geo, seen } = recordingGeo({ country: 'Germany', city: null })
    const target = await h.build({ geo, env: { TRUST_PROXY: 'true' } })
    const { 'cf-connecting-ip': _cf, ...xffOnly } = headers
    const res = await postSession(target, sessionBody(), xffOnly, { remoteAddress: '203.0.113.77' })
    expect(seen).toEqual(['192.0.2.201'])
    expect(await sessionRow(h, res.json().data.id)).toMatchObject({ country: 'Germany', city: null })
  })

  it('is not consulted for an untracked visit', async () => {
    const { geo, seen } = recordingGeo({ country: 'Turkey', city: 'Istanbul' })
    const target = await h.build({ geo })
    expectNullId(await postSession(target, sessionBody({ consentAnalytics: 'no' })))
    expect(seen).toEqual([])
  })

  it('without a GeoIP database stores null country and city', async () => {
    const id = await createSession(h.app)
    expect(await sessionRow(h, id)).toMatchObject({ country: null, city: null })
  })
})
