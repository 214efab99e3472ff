import { describe, expect, it } from 'vitest'
import {
  createSession,
  dumpDatabase,
  expectError,
  postPageView,
  postSession,
  rowCounts,
  sessionBody,
  sessionRow,
  useAnalyticsHarness,
} from './helper.js'

/**
 * Values a dashboard must be able to show safely: only http(s) URLs, paths that are paths, real
 * IANA time zones, and no control characters anywhere. Each is refused with 400 naming the field,
 * and nothing of it is stored.
 */

const h = useAnalyticsHarness()

const MARK = 'hostile-7c1e'

async function expectRefused(send: () => Promise<Parameters<typeof expectError>[0]>, field: string) {
  const before = await rowCounts(h)
  const error = expectError(await send(), 400, 'VALIDATION_FAILED')
  expect(error.details?.map((d) => d.field)).toContain(field)
  expect(await rowCounts(h)).toEqual(before)
  expect(await dumpDatabase(h)).not.toContain(MARK)
}

describe('session fields', () => {
  it.each([
    ['referrer', `javascript:alert('${MARK}')`],
    ['referrer', `data:text/html,<script>${MARK}</script>`],
    ['referrer', `mailto:${MARK}@example.com`],
    ['referrer', `https://example.com/${MARK}\r\nSet-Cookie: x`],
    ['landingPage', `javascript:alert('${MARK}')`],
    ['landingPage', `https://example.com/${MARK}`],
    ['landingPage', `//evil.example/${MARK}`],
    ['landingPage', `/\\evil.example/${MARK}`],
    ['timezone', `Europe/Paris\r\n${MARK}`],
    ['timezone', 'Mars/Olympus_Mons'],
    ['timezone', '+01:00'],
    ['utmSource', `news\n${MARK}`],
    ['utmCampaign', `spring\u0000${MARK}`],
    ['browser', `Chrome\u0085${MARK}`],
    ['visitorId', `v\t${MARK}`],
  ])('%s = %j → 400, nothing stored', async (field, value) => {
    await expectRefused(() => postSession(h.app, sessionBody({ [field]: value })), field)
  })

  it('a real time zone is stored in its canonical spelling; http(s) URLs and paths pass', async () => {
    const id = await createSession(h.app, {
      timezone: 'europe/paris',
      referrer: 'HTTPS://news.example.org/a?b=1',
      landingPage: '/links?utm_source=x',
    })
    expect(await sessionRow(h, id)).toMatchObject({
      timezone: 'Europe/Paris',
      referrer: 'HTTPS://news.example.org/a?b=1',
      referrerDomain: 'news.example.org',
      landingPage: '/links?utm_source=x',
    })
  })
})

describe('pageview fields', () => {
  it.each([
    ['path', `javascript:alert('${MARK}')`],
    ['path', `https://evil.example/${MARK}`],
    ['path', `//evil.example/${MARK}`],
    ['path', `/ok\r\n${MARK}`],
    ['referrer', `data:text/html,${MARK}`],
    ['referrer', `javascript:${MARK}`],
    ['title', `Home\u001b[31m${MARK}`],
  ])('%s = %j → 400, nothing stored', async (field, value) => {
    const sessionId = await createSession(h.app)
    await expectRefused(() => postPageView(h.app, { sessionId, path: '/', [field]: value }), field)
  })
})
