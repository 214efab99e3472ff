import { existsSync } from 'node:fs'
import { startThrowawayCluster, UUID_RE } from '@bio/service-kit/testing'
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core'
import postgres from 'postgres'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  buildTracker,
  eventually,
  type Stack,
  sleep,
  startAnalyticsOn,
  startStack,
  visitorHash,
} from './stack.js'

/**
 * The tracker in a real browser (Debian's Chromium through playwright-core), on a demo site whose
 * origin differs from both APIs: consent, sessions, pageviews across client-side navigations,
 * scroll depth, heartbeats, the leave beacon on close, signup + identify across services, and
 * refreshing the access token with nothing but the HttpOnly cookie. Every claim is checked in
 * the services' databases.
 */

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium'
const HAVE_CHROMIUM = existsSync(CHROMIUM)
if (!HAVE_CHROMIUM) {
  const message = `${CHROMIUM} not found: the browser end-to-end tests cannot run (apt-get install -y chromium)`
  // CI installs Chromium (.ci/run); there a missing browser is a failure, never a silent skip.
  if (process.env.CI) throw new Error(message)
  const line = '!'.repeat(100)
  console.warn(`\n${line}\n! SKIPPED: ${message}\n${line}\n`)
}

/** A desktop Chrome User-Agent: isbot takes HeadlessChrome (the default in headless mode) for a bot. */
const CHROME_UA =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36'

interface SessionRow {
  id: string
  visitor_id: string
  user_id: string | null
  device: string | null
  browser: string | null
  os: string | null
  timezone: string | null
  referrer_domain: string
  landing_page: string | null
  page_views: number
  bounced: boolean
  duration: number
}
interface PageViewRow {
  id: string
  session_id: string
  path: string
  title: string | null
  referrer: string | null
  entered_at: Date
  duration: number | null
  scroll_depth: number | null
  left_at: Date | null
}

let stack: Stack
let browser: Browser
const pageErrors: string[] = []

beforeAll(async () => {
  if (!HAVE_CHROMIUM) return
  buildTracker()
  const [started, launched] = await Promise.all([
    startStack(),
    chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-gpu',
      ],
    }),
  ])
  stack = started
  browser = launched
}, 90_000)

afterAll(async () => {
  await browser?.close()
  await stack?.close()
}, 30_000)

afterEach(() => {
  // The tracker never throws into the page, whatever happened in the test.
  expect(pageErrors.splice(0)).toEqual([])
})

const newContext = (options: { userAgent?: string } = {}) =>
  browser.newContext({
    userAgent: CHROME_UA,
    viewport: { width: 1280, height: 800 },
    timezoneId: 'Europe/Istanbul',
    ...options,
  })

interface Tab {
  page: Page
  /** `METHOD /path` of every call the page made to the analytics API, in order. */
  calls: string[]
  /** The leave pings the page sent: how (`ping` = sendBeacon), content type and body. */
  leaves: { type: string; contentType: string | undefined; body: unknown }[]
}

/**
 * Opens the demo site in a new tab of `ctx`. `options` become the tracker's extra options
 * (`window.DEMO_OPTIONS`); `init` is more script to run before the page's own.
 */
async function openTab(
  ctx: BrowserContext,
  path = '/',
  { options, init = '' }: { options?: Record<string, unknown>; init?: string } = {},
): Promise<Tab> {
  const page = await ctx.newPage()
  page.on('pageerror', (err) => pageErrors.push(String(err)))
  const calls: string[] = []
  const leaves: Tab['leaves'] = []
  page.on('request', (req) => {
    if (!req.url().startsWith(`${stack.analytics}/api/`)) return
    calls.push(`${req.method()} ${new URL(req.url()).pathname}`)
    if (req.url().endsWith('/leave')) {
      const body = req.postData()
      leaves.push({
        type: req.resourceType(),
        contentType: req.headers()['content-type'],
        body: body ? JSON.parse(body) : undefined,
      })
    }
  })
  await page.addInitScript({
    content: `${init};window.DEMO_OPTIONS = ${JSON.stringify(options ?? {})}`,
  })
  await page.goto(`${stack.site}${path}`)
  return { page, calls, leaves }
}

/** The tab's session id (null when it is not tracked), from the tracker's own API. */
const sessionOf = (page: Page) =>
  page.evaluate('window.bioAnalytics.tracker() ? window.bioAnalytics.tracker().session() : null') as Promise<
    string | null
  >

const storageKeys = (page: Page) =>
  page.evaluate('Object.keys(localStorage).concat(Object.keys(sessionStorage))') as Promise<string[]>

async function sessionRow(id: string): Promise<SessionRow | undefined> {
  const rows = await stack.analyticsSql<SessionRow[]>`select * from analytics_sessions where id = ${id}`
  return rows[0]
}
const viewsOf = (sessionId: string) =>
  stack.analyticsSql<PageViewRow[]>`
    select * from analytics_pageviews where session_id = ${sessionId} order by entered_at, id`
const viewCount = async (sessionId: string, n: number) => (await viewsOf(sessionId)).length === n

/** Scrolls and waits for the page's scroll event (which the tracker measures on). */
const scrollTo = (page: Page, y: number) =>
  page.evaluate(
    `new Promise((resolve) => {
      addEventListener('scroll', () => setTimeout(resolve, 50), { once: true })
      scrollTo(0, ${y})
    })`,
  )

/** Page-visibility control for tests: headless Chromium keeps every tab visible. */
const VISIBILITY_SHIM = `
  let state = 'visible'
  Object.defineProperty(Document.prototype, 'visibilityState', { configurable: true, get: () => state })
  Object.defineProperty(Document.prototype, 'hidden', { configurable: true, get: () => state === 'hidden' })
  window.setVisibility = (next) => {
    state = next
    document.dispatchEvent(new Event('visibilitychange'))
  }`

describe.skipIf(!HAVE_CHROMIUM)('the browser tracker, end to end', { timeout: 60_000 }, () => {
  it('is served cross-origin at a stable URL with caching headers (typed client)', async () => {
    for (const path of ['/tracker.js', '/tracker.mjs'] as const) {
      const first = await stack.analyticsApi.GET(path, { parseAs: 'text' })
      expect(first.response.status).toBe(200)
      const h = first.response.headers
      expect(h.get('content-type')).toBe('text/javascript; charset=utf-8')
      expect(h.get('cache-control')).toMatch(/^public, max-age=\d+/)
      expect(h.get('cross-origin-resource-policy')).toBe('cross-origin')
      expect(h.get('access-control-allow-origin')).toBe('*')
      expect(h.get('x-content-type-options')).toBe('nosniff')
      const etag = h.get('etag')
      expect(etag).toMatch(/^"[\w-]+"$/)
      expect(first.data?.length).toBeGreaterThan(1000)
      expect(first.data?.length).toBeLessThan(10_000)
      const again = await stack.analyticsApi.GET(path, {
        parseAs: 'text',
        headers: { 'if-none-match': `W/${etag}` },
      })
      expect(again.response.status).toBe(304)
      expect(again.response.headers.get('etag')).toBe(etag)
    }
  })

  it('consent → session → pageviews across client-side navigations → scroll → close: the leave ping and the rows', async () => {
    const ctx = await newContext()
    const { page, calls } = await openTab(ctx, '/')

    // Before consent nothing is stored and nothing is sent.
    await sleep(300)
    expect(calls).toEqual([])
    expect(await storageKeys(page)).toEqual([])

    await page.click('#consent')
    const sessionId = await sessionOf(page)
    expect(sessionId).toMatch(UUID_RE)
    const id = sessionId!
    await eventually(() => viewCount(id, 1), 'the first pageview')
    const visitorId = (await page.evaluate("localStorage.getItem('bioAnalytics.visitorId')")) as string
    expect(visitorId).toMatch(UUID_RE)

    await sleep(400)
    await page.click('a[href="/pricing"]') // pushState
    await eventually(() => viewCount(id, 2), 'the pushState pageview')
    // replaceState of the same URL (a router saving state) is not a pageview.
    await page.evaluate("history.replaceState({ tab: 2 }, '', location.href)")
    await sleep(400)
    await page.click('a[href="/docs/intro?section=2"]')
    await eventually(() => viewCount(id, 3), 'the third pageview')
    await sleep(400)
    await page.goBack() // popstate, back to /pricing
    await eventually(() => viewCount(id, 4), 'the popstate pageview')
    const lastViewSeen = Date.now()

    // 800 px of a 5000 px page are in view; scrolled to 2200 px, 3000 px have been seen: 60 %.
    await scrollTo(page, 2200)
    await scrollTo(page, 0) // the furthest depth counts, not the last
    await sleep(700)
    const closing = Date.now()
    await page.close() // pagehide + visibilitychange: the beacon
    const closed = Date.now()

    const views = await eventually(async () => {
      const rows = await viewsOf(id)
      return rows.length === 4 && rows[3]?.left_at ? rows : undefined
    }, 'the leave ping')
    expect(calls.filter((c) => c.endsWith('/pageview'))).toHaveLength(4)
    expect(calls.filter((c) => c.endsWith('/session'))).toHaveLength(1)

    // Query parameters other than utm_* (here `section=2`) never leave the page.
    expect(views.map((v) => [v.path, v.title, v.referrer])).toEqual([
      ['/', 'Demo home', null],
      ['/pricing', 'Pricing', `${stack.site}/`],
      ['/docs/intro', 'Docs: intro', `${stack.site}/pricing`],
      ['/pricing', 'Pricing', `${stack.site}/docs/intro`],
    ])
    // Every id was made in the page: a UUIDv7 whose time is the view's enteredAt.
    for (const v of views)
      expect(v.entered_at.getTime()).toBe(Number.parseInt(v.id.replace(/-/g, '').slice(0, 12), 16))
    // Views 1-3: duration back-filled from the next view's arrival; no leave, no scroll depth.
    for (let i = 0; i < 3; i++) {
      const gap = (views[i + 1]!.entered_at.getTime() - views[i]!.entered_at.getTime()) / 1000
      expect(views[i]!.duration).toBeCloseTo(gap, 2)
      expect(views[i]!.duration).toBeGreaterThan(0.3)
      expect(views[i]!.left_at).toBeNull()
      expect(views[i]!.scroll_depth).toBeNull()
    }
    // View 4: the leave beacon, with the visible time and the furthest scroll depth.
    const last = views[3]!
    expect(last.scroll_depth).toBeGreaterThanOrEqual(59)
    expect(last.scroll_depth).toBeLessThanOrEqual(61)
    expect(last.duration).toBeGreaterThanOrEqual((closing - lastViewSeen) / 1000 - 0.2)
    expect(last.duration).toBeLessThanOrEqual((closed - lastViewSeen) / 1000 + 5)

    const session = await sessionRow(id)
    expect(session).toMatchObject({
      visitor_id: visitorHash(visitorId),
      user_id: null,
      page_views: 4,
      bounced: false,
      device: 'desktop',
      browser: 'Chrome',
      os: 'Windows',
      timezone: 'Europe/Istanbul',
      referrer_domain: 'direct',
      landing_page: '/',
      // No heartbeat within 30 s: the session's time is the leave's, rounded.
      duration: Math.round(last.duration!),
    })
    await ctx.close()
  })

  it('one session per tab: a reload keeps it, a new tab opens another for the same visitor; one view is a bounce', async () => {
    const ctx = await newContext()
    const first = await openTab(ctx, '/pricing', { options: { consent: true } })
    const s1 = (await sessionOf(first.page))!
    expect(s1).toMatch(UUID_RE)
    await eventually(() => viewCount(s1, 1), 'the first pageview')
    await sleep(300)
    await first.page.reload() // pagehide sends the leave; the same tab keeps its session
    expect(await sessionOf(first.page)).toBe(s1)
    await eventually(() => viewCount(s1, 2), 'the pageview after the reload')

    const second = await openTab(ctx, '/', { options: { consent: true } })
    const s2 = (await sessionOf(second.page))!
    expect(s2).toMatch(UUID_RE)
    expect(s2).not.toBe(s1)
    await eventually(() => viewCount(s2, 1), 'the second tab pageview')
    await sleep(500)
    await second.page.close()
    const [bounce] = await eventually(async () => {
      const rows = await viewsOf(s2)
      return rows[0]?.left_at ? rows : undefined
    }, 'the leave of the single view')
    expect(bounce!.duration).toBeGreaterThan(0.3)
    expect(bounce!.scroll_depth).toBe(16) // 800 of 5000 px, never scrolled

    const [one, two] = [await sessionRow(s1), await sessionRow(s2)]
    expect(one).toMatchObject({ page_views: 2, bounced: false })
    expect(two).toMatchObject({ page_views: 1, bounced: true, duration: Math.round(bounce!.duration!) })
    expect(two!.visitor_id).toBe(one!.visitor_id)
    expect(first.calls.filter((c) => c.endsWith('/session'))).toHaveLength(1) // not again after the reload
    const reloaded = await viewsOf(s1)
    expect(reloaded[0]!.left_at).not.toBeNull() // the leave sent while reloading
    expect(reloaded.map((v) => v.path)).toEqual(['/pricing', '/pricing'])
    await ctx.close()
  })

  it('heartbeats only while visible; a later hide resends the cumulative visible time, which replaces the first', async () => {
    const ctx = await newContext()
    const { page, calls, leaves } = await openTab(ctx, '/', {
      options: { consent: true, heartbeatSeconds: 1 },
      init: VISIBILITY_SHIM,
    })
    const opened = Date.now()
    const id = (await sessionOf(page))!
    await eventually(() => viewCount(id, 1), 'the pageview')
    const beats = () => calls.filter((c) => c.endsWith('/heartbeat')).length
    await sleep(2300)
    expect(beats()).toBeGreaterThanOrEqual(1)

    await page.evaluate("setVisibility('hidden')")
    const firstLeave = await eventually(async () => (await viewsOf(id))[0]?.duration ?? undefined, 'a leave')
    expect(firstLeave).toBeGreaterThan(1.8)
    const beatsWhileVisible = beats()
    await sleep(2500)
    expect(beats()).toBe(beatsWhileVisible) // none while hidden

    await page.evaluate("setVisibility('visible')")
    await sleep(1600)
    await page.evaluate("setVisibility('hidden')")
    const secondLeave = await eventually(async () => {
      const d = (await viewsOf(id))[0]?.duration
      return d !== undefined && d !== null && d > firstLeave ? d : undefined
    }, 'the second leave')
    // Visible time only (~1.6 s): the 2.5 s hidden in between are not counted.
    expect(secondLeave - firstLeave).toBeGreaterThan(1.2)
    expect(secondLeave - firstLeave).toBeLessThan(3)
    expect(beats()).toBeGreaterThan(beatsWhileVisible) // resumed while visible again
    // Both leaves went by sendBeacon as text/plain JSON: a simple request, no preflight.
    expect(leaves).toEqual([
      {
        type: 'ping',
        contentType: 'text/plain;charset=UTF-8',
        body: { duration: firstLeave, scrollDepth: 16 },
      },
      {
        type: 'ping',
        contentType: 'text/plain;charset=UTF-8',
        body: { duration: secondLeave, scrollDepth: 16 },
      },
    ])

    // The repeated leave replaced the first one's seconds; the heartbeats (1 s apart here) added
    // no more than the wall-clock time that passed, never 30 s each.
    const wallSeconds = Math.ceil((Date.now() - opened) / 1000)
    const fromBeats = await eventually(async () => {
      const d = (await sessionRow(id))?.duration
      return d !== undefined && d > Math.round(secondLeave) ? d - Math.round(secondLeave) : undefined
    }, 'the heartbeats counted')
    expect(fromBeats).toBeLessThanOrEqual(wallSeconds)
    expect(fromBeats).toBeLessThan(30 * beats())
    await ctx.close()
  })

  it('signup through auth from the page, then identify: the anonymous history belongs to the new user', async () => {
    const ctx = await newContext()
    const { page } = await openTab(ctx, '/', { options: { consent: true } })
    const id = (await sessionOf(page))!
    await eventually(() => viewCount(id, 1), 'the first pageview')
    await page.click('a[href="/pricing"]')
    await eventually(() => viewCount(id, 2), 'the second pageview')
    await page.evaluate("demo.navigate('/signup')")
    await eventually(() => viewCount(id, 3), 'the third pageview')
    expect((await sessionRow(id))!.user_id).toBeNull()

    const email = `e2e.${Date.now()}.${Math.random().toString(36).slice(2)}@example.com`
    await page.fill('input[name=email]', email)
    await page.fill('input[name=password]', 'Correct-Horse1')
    await page.click('#signup-submit')
    const signup = (await (
      await page.waitForFunction('window.demoState.signup', undefined, { timeout: 15_000 })
    ).jsonValue()) as { status: number; userId: string; accessToken: string; identified: boolean }
    expect(signup.status).toBe(201)
    expect(signup.identified).toBe(true)

    const [user] = await stack.authSql<{ id: string }[]>`select id from users where email = ${email}`
    expect(user?.id).toBe(signup.userId)
    expect((await sessionRow(id))!.user_id).toBe(signup.userId)
    const attributed = await stack.analyticsSql<{ path: string }[]>`
      select p.path from analytics_pageviews p join analytics_sessions s on s.id = p.session_id
      where s.user_id = ${signup.userId} order by p.entered_at`
    expect(attributed.map((r) => r.path)).toEqual(['/', '/pricing', '/signup'])

    // The refresh cookie came back cross-origin: HttpOnly (not in document.cookie), Strict, auth paths only.
    const cookies = await ctx.cookies(`${stack.auth}/api/v1/auth/refresh`)
    expect(cookies.find((c) => c.name === 'biore_refresh')).toMatchObject({
      httpOnly: true,
      sameSite: 'Strict',
      path: '/api/v1/auth',
    })
    expect(await page.evaluate('document.cookie')).not.toContain('biore_refresh')
    await ctx.close()
  })

  it('refreshes the access token from the page with only the cookie (tracker loaded as an ES module)', async () => {
    const ctx = await newContext()
    // `keepParams` keeps `loader` in the stored path (any other non-utm parameter is dropped).
    const { page } = await openTab(ctx, '/?loader=module&secret=x', {
      options: { consent: true, keepParams: ['loader'] },
    })
    const id = (await sessionOf(page))!
    expect(id).toMatch(UUID_RE)
    await eventually(() => viewCount(id, 1), 'the pageview')
    expect((await viewsOf(id))[0]!.path).toBe('/?loader=module')

    const email = `refresh.${Date.now()}@example.com`
    const signup = (await page.evaluate(`demo.signup(${JSON.stringify(email)}, 'Correct-Horse1')`)) as {
      status: number
      userId: string
      identified: boolean
    }
    expect(signup).toMatchObject({ status: 201, identified: true })
    const cookieValue = async () =>
      (await ctx.cookies(`${stack.auth}/api/v1/auth/refresh`)).find((c) => c.name === 'biore_refresh')?.value
    const before = await cookieValue()
    expect(before).toBeTruthy()

    const refreshed = (await page.evaluate('demo.refresh()')) as { status: number; accessToken?: string }
    expect(refreshed.status).toBe(200)
    expect(refreshed.accessToken).toBeTruthy()
    const after = await cookieValue()
    expect(after).toBeTruthy()
    expect(after).not.toBe(before) // rotated

    // The new token names the user, from the page and from here (typed client).
    const fromPage = (await page.evaluate(`demo.me(${JSON.stringify(refreshed.accessToken)})`)) as {
      status: number
      body: { data: { id: string } }
    }
    expect(fromPage.status).toBe(200)
    expect(fromPage.body.data.id).toBe(signup.userId)
    const me = await stack.authApi.GET('/api/v1/auth/me', {
      headers: { authorization: `Bearer ${refreshed.accessToken}` },
    })
    expect(me.data?.data.id).toBe(signup.userId)
    // The rotated-out token no longer refreshes.
    const stale = await stack.authApi.POST('/api/v1/auth/refresh', { body: { refreshToken: before! } })
    expect(stale.response.status).toBe(401)
    await ctx.close()
  })

  it('sends nothing without consent, with GPC when told to respect it, or after the server answers null', async () => {
    const sessionsBefore = await stack.analyticsSql<
      { n: number }[]
    >`select count(*)::int as n from analytics_sessions`

    // No consent: no storage, no calls, identify is a no-op.
    const ctx = await newContext()
    const quiet = await openTab(ctx, '/')
    await quiet.page.click('a[href="/pricing"]')
    expect(await quiet.page.evaluate("bioAnalytics.identify('token')")).toBe(false)
    // Global Privacy Control, and the site chose to honour it: consent alone is not enough.
    const gpc = await openTab(ctx, '/', {
      options: { consent: true, respectDoNotTrack: true },
      init: "Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', { get: () => true })",
    })
    await gpc.page.click('a[href="/pricing"]')
    await sleep(500)
    expect(quiet.calls).toEqual([])
    expect(gpc.calls).toEqual([])
    expect(await storageKeys(quiet.page)).toEqual([])
    expect(await storageKeys(gpc.page)).toEqual([])
    await ctx.close()

    // HeadlessChrome is a bot to the server: `{ id: null }`, and the tab sends nothing more.
    const botCtx = await browser.newContext() // the default headless User-Agent
    const bot = await openTab(botCtx, '/', { options: { consent: true } })
    expect(await sessionOf(bot.page)).toBeNull()
    await bot.page.click('a[href="/pricing"]')
    await bot.page.reload()
    expect(await sessionOf(bot.page)).toBeNull()
    await bot.page.click('a[href="/pricing"]')
    await sleep(300)
    expect(bot.calls).toEqual(['POST /api/v1/analytics/session']) // once per tab, not per page load
    await botCtx.close()

    const sessionsAfter = await stack.analyticsSql<
      { n: number }[]
    >`select count(*)::int as n from analytics_sessions`
    expect(sessionsAfter[0]!.n).toBe(sessionsBefore[0]!.n)
  })

  it('through a 10 s database outage: every pageview the page made is stored once, with its original time', {
    timeout: 150_000,
  }, async () => {
    const cluster = await startThrowawayCluster()
    const service = await startAnalyticsOn(cluster.url, stack.site).catch(async (err) => {
      await cluster.destroy()
      throw err
    })
    const sql = postgres(cluster.url, { max: 1, onnotice: () => {} })
    try {
      const ctx = await newContext()
      const { page } = await openTab(ctx, '/', { options: { consent: true, apiBase: service.origin } })
      const statuses: number[] = []
      page.on('response', (res) => {
        if (res.url().startsWith(`${service.origin}/api/`)) statuses.push(res.status())
      })
      const sessionId = (await sessionOf(page))!
      expect(sessionId).toMatch(UUID_RE)
      const views = () =>
        sql<{ id: string; path: string; entered_at: Date }[]>`
          select id::text, path, entered_at from analytics_pageviews where session_id = ${sessionId} order by entered_at`
      await eventually(async () => (await views()).length === 1, 'the first pageview')
      /** Each navigation made during the outage, with the time window its view began in. */
      const made: { path: string; from: number; to: number }[] = []
      const during = async (path: string, navigate: () => Promise<unknown>) => {
        const from = Date.now()
        await navigate()
        await page.waitForFunction(`location.pathname === ${JSON.stringify(path)}`)
        made.push({ path, from, to: Date.now() })
      }

      await cluster.stop()
      const downAt = Date.now()
      await during('/pricing', () => page.click('a[href="/pricing"]'))
      await during('/docs/intro', () => page.click('a[href="/docs/intro?section=2"]'))
      // A reload while writes are pending: they wait in localStorage and resume on the new page.
      await during('/docs/intro', () => page.reload())
      await during('/pricing', () => page.click('a[href="/pricing"]'))
      await sleep(Math.max(0, 10_000 - (Date.now() - downAt)))
      await cluster.start()
      const upAt = Date.now()

      const rows = await eventually(
        async () => {
          const r = await views()
          return r.length >= 5 ? r : undefined
        },
        'every pageview after the outage',
        90_000,
      )
      // Every write that reached the API while the database was down was answered 503, then retried.
      expect(statuses).toContain(503)
      expect(statuses.filter((s) => s !== 200 && s !== 503)).toEqual([])
      expect(rows.map((r) => r.path)).toEqual(['/', ...made.map((m) => m.path)])
      expect(new Set(rows.map((r) => r.id)).size).toBe(5)
      // Each keeps the time its view began (stored only after the outage).
      for (const [i, m] of made.entries()) {
        const at = rows[i + 1]!.entered_at.getTime()
        expect(at).toBeGreaterThanOrEqual(m.from - 5)
        expect(at).toBeLessThanOrEqual(m.to + 2000)
        expect(at).toBeLessThan(upAt)
      }
      const [session] = await sql<{ page_views: number; bounced: boolean }[]>`
        select page_views, bounced from analytics_sessions where id = ${sessionId}`
      expect(session).toEqual({ page_views: 5, bounced: false })
      // Nothing is left pending in the page.
      await eventually(
        async () => (await page.evaluate("localStorage.getItem('bioAnalytics.outbox')")) === '[]',
        'the outbox emptied',
        30_000,
      )
      await ctx.close()
    } finally {
      await sql.end()
      await service.close()
      await cluster.destroy()
    }
  })

  it("forget(): the visitor's rows are erased server-side, its storage cleared, and nothing is sent afterwards", async () => {
    const ctx = await newContext()
    // The demo page keeps its own consent choice (`demo.consent`); the tracker's keys are `bioAnalytics.*`.
    const trackerKeys = async (p: Page) => (await storageKeys(p)).filter((k) => k.startsWith('bioAnalytics.'))
    // Every API call the page makes, counted in the page itself (fetch and sendBeacon), synchronously.
    const COUNT_CALLS = `window.apiCalls = []
      const realFetch = window.fetch.bind(window)
      window.fetch = (url, init) => { window.apiCalls.push(((init && init.method) || 'GET') + ' ' + url); return realFetch(url, init) }
      const realBeacon = navigator.sendBeacon.bind(navigator)
      navigator.sendBeacon = (url, data) => { window.apiCalls.push('BEACON ' + url); return realBeacon(url, data) }`
    const { page } = await openTab(ctx, '/', { init: COUNT_CALLS })
    await page.click('#consent')
    const id = (await sessionOf(page))!
    expect(id).toMatch(UUID_RE)
    await eventually(() => viewCount(id, 1), 'the first pageview')
    await page.click('a[href="/pricing"]')
    await eventually(() => viewCount(id, 2), 'the second pageview')
    const visitorId = (await page.evaluate("localStorage.getItem('bioAnalytics.visitorId')")) as string
    const hash = visitorHash(visitorId)
    expect(
      await stack.analyticsSql`select id from analytics_sessions where visitor_id = ${hash}`,
    ).toHaveLength(1)

    expect(await page.evaluate('window.bioAnalytics.forget()')).toBe(true)
    const sent = (await page.evaluate('window.apiCalls.length')) as number
    expect(await page.evaluate('window.apiCalls[window.apiCalls.length - 1]')).toBe(
      `POST ${stack.analytics}/api/v1/analytics/visitor/forget`,
    )
    // No table of the analytics database holds the visitor's hash or its session any more.
    const tables = await stack.analyticsSql<{ name: string }[]>`
      select quote_ident(table_name) as name from information_schema.tables
      where table_schema = 'public' and table_type = 'BASE TABLE'`
    expect(tables.map((t) => t.name)).toContain('analytics_erasures')
    for (const { name } of tables) {
      const rows = await stack.analyticsSql.unsafe(
        `select 1 from ${name} t where strpos(t::text, $1) > 0 or strpos(t::text, $2) > 0`,
        [hash, id],
      )
      expect(rows, name).toHaveLength(0)
    }
    expect(await trackerKeys(page)).toEqual([])

    // What would have written before (a navigation, hiding the page) now sends nothing.
    await page.click('a[href="/docs/intro?section=2"]')
    // Two macrotasks: the tracker's own navigation timer (setTimeout 0, queued first) has run.
    await page.evaluate('new Promise((r) => setTimeout(() => setTimeout(r, 0), 0))')
    await page.evaluate(
      "document.dispatchEvent(new Event('visibilitychange')); dispatchEvent(new Event('pagehide'))",
    )
    expect(await page.evaluate('window.apiCalls.length')).toBe(sent)
    expect(await trackerKeys(page)).toEqual([])
    expect(
      await stack.analyticsSql`select id from analytics_sessions where visitor_id = ${hash}`,
    ).toHaveLength(0)
    await ctx.close()
  })

  it('forget() is not lost to a 503: kept in localStorage and retried until the server erases', async () => {
    const ctx = await newContext()
    const { page } = await openTab(ctx, '/')
    await page.click('#consent')
    const id = (await sessionOf(page))!
    await eventually(() => viewCount(id, 1), 'the first pageview')
    const visitorId = (await page.evaluate("localStorage.getItem('bioAnalytics.visitorId')")) as string
    let refused = 0
    await page.route(`${stack.analytics}/api/v1/analytics/visitor/forget`, (route) => {
      if (refused++ > 0) return route.continue()
      return route.fulfill({
        status: 503,
        headers: {
          'retry-after': '1',
          'access-control-allow-origin': stack.site,
          'content-type': 'application/json',
        },
        body: '{"success":false}',
      })
    })
    const done = page.evaluate('window.bioAnalytics.forget()')
    // Until the server has answered, the withdrawal waits in storage (a reload would resend it).
    await eventually(async () => refused === 1, 'the refused attempt')
    expect(await page.evaluate("localStorage.getItem('bioAnalytics.forget')")).toBe(visitorId)
    expect(await done).toBe(true)
    expect(refused).toBe(2)
    expect(await page.evaluate("localStorage.getItem('bioAnalytics.forget')")).toBeNull()
    expect(
      await stack.analyticsSql`select id from analytics_sessions where visitor_id = ${visitorHash(visitorId)}`,
    ).toHaveLength(0)
    await ctx.close()
  })

  it('forget() while a write is in flight: its late answer writes nothing back to storage', async () => {
    const ctx = await newContext()
    const { page } = await openTab(ctx, '/')
    await page.click('#consent')
    const id = (await sessionOf(page))!
    await eventually(() => viewCount(id, 1), 'the first pageview')
    // The next pageview is held on its way: it is in flight when forget() runs.
    let release: () => void = () => {}
    const held = new Promise<void>((resolve) => {
      release = resolve
    })
    let seen = 0
    await page.route(`${stack.analytics}/api/v1/analytics/pageview`, async (route) => {
      seen++
      await held
      await route.continue()
    })
    await page.click('a[href="/pricing"]')
    await eventually(async () => seen === 1, 'the held pageview')
    expect(await page.evaluate('window.bioAnalytics.forget()')).toBe(true)
    const answered = page.waitForResponse(`${stack.analytics}/api/v1/analytics/pageview`)
    release()
    await answered
    // Two macrotasks: the tracker has handled that answer.
    await page.evaluate('new Promise((r) => setTimeout(() => setTimeout(r, 0), 0))')
    expect((await storageKeys(page)).filter((k) => k.startsWith('bioAnalytics.'))).toEqual([])
    await ctx.close()
  })

  it('never throws into the page or blocks navigation when the API is unreachable', async () => {
    const ctx = await newContext()
    const { page } = await openTab(ctx, '/', { options: { consent: true, apiBase: 'http://127.0.0.1:9' } })
    expect(await sessionOf(page)).toBeNull()
    await page.click('a[href="/pricing"]')
    await page.click('a[href="/docs/intro?section=2"]')
    expect(await page.title()).toBe('Docs: intro')
    expect(await page.evaluate("bioAnalytics.identify('token')")).toBe(false)
    await page.goBack()
    expect(await page.title()).toBe('Pricing')
    await page.close()
    await ctx.close()
  })
})
