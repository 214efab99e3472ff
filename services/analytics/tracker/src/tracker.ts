/**
 * The BIO.RE browser tracker: no dependencies, a few KB minified. Built by scripts/build-tracker.mjs
 * into services/analytics/public/ (tracker.mjs = this module, tracker.js = a classic script that
 * sets `window.bioAnalytics`), which the analytics service serves at /tracker.mjs and /tracker.js.
 *
 * The page gives the API base URL and the visitor's consent; nothing is stored or sent before
 * consent. Then, per tab: one session (`POST /session`, id kept in sessionStorage, nothing more
 * if the server answers null), a pageview on load and on every client-side navigation, a
 * heartbeat every ~30 s while the page is visible, and on hide the leave ping of the current view
 * (visible seconds, furthest scroll depth) by `navigator.sendBeacon`. No call throws into the page.
 */

export interface TrackerOptions {
  /** Origin (and optional path prefix) of the analytics API, e.g. `https://api.bio.re`. */
  apiBase: string
  /** The visitor's analytics consent. Until it is true nothing is stored or sent (see `setConsent`). */
  consent?: boolean
  /** Track nobody whose browser sends Do Not Track or Global Privacy Control. Default false. */
  respectDoNotTrack?: boolean
  /** Record pageviews on `history.pushState` / `replaceState` / `popstate`. Default true. */
  trackHistory?: boolean
  /** Seconds between heartbeats while the page is visible. Default 30. */
  heartbeatSeconds?: number
  /** A server-rendered bio page and the tracking token it embeds. */
  bioPageId?: string
  trackingToken?: string
  /** Report swallowed problems with `console.warn`. */
  debug?: boolean
}

export interface Tracker {
  /** Resolves to the tab's session id, or null when this tab is not tracked. */
  session(): Promise<string | null>
  /** The current pageview's id once the server has answered. */
  readonly pageViewId: string | null
  setConsent(granted: boolean): void
  /** Attributes the session to the signed-in user; call right after login or signup. */
  identify(accessToken: string): Promise<boolean>
  /** Records a pageview for the current URL now (with `trackHistory: false`, for custom routers). */
  trackPageView(): void
  /** Removes every listener and timer; `init` may be called again afterwards. */
  stop(): void
}

interface ViewState {
  id: string | null
  path: string
  visibleMs: number
  visibleSince: number | null
  scroll: number
  sent: string
  leaveWanted: boolean
}

type Json = Record<string, unknown>

const API_PATH = '/api/v1/analytics'
const VISITOR_KEY = 'bioAnalytics.visitorId'
const SESSION_KEY = 'bioAnalytics.sessionId'
/** Stored as the session id when the server answered null: this tab is not tracked. */
const UNTRACKED = '-'
const MAX_LEAVE_SECONDS = 3600
const UTM = ['source', 'medium', 'campaign', 'term', 'content']

const noop = () => {}
const now = () => Date.now()

/** Storage that never throws (blocked cookies, private mode, quota) and falls back to memory. */
const memory: Record<string, string> = {}
type StorageKind = 'localStorage' | 'sessionStorage'
function load(kind: StorageKind, key: string): string | null {
  try {
    const value = window[kind].getItem(key)
    if (value !== null) return value
  } catch {}
  return memory[kind + key] ?? null
}
function save(kind: StorageKind, key: string, value: string): void {
  memory[kind + key] = value
  try {
    window[kind].setItem(key, value)
  } catch {}
}
function forget(kind: StorageKind, key: string): void {
  delete memory[kind + key]
  try {
    window[kind].removeItem(key)
  } catch {}
}

function uuid(): string {
  const c = typeof crypto === 'object' ? crypto : undefined
  // randomUUID exists only in secure contexts; plain-http pages get the v4 layout by hand.
  if (c && typeof c.randomUUID === 'function') return c.randomUUID()
  const b = new Uint8Array(16)
  if (c && typeof c.getRandomValues === 'function') c.getRandomValues(b)
  else for (let i = 0; i < 16; i++) b[i] = Math.floor(Math.random() * 256)
  b[6] = (b[6]! & 0x0f) | 0x40
  b[8] = (b[8]! & 0x3f) | 0x80
  const hex = Array.from(b, (x) => (x + 0x100).toString(16).slice(1)).join('')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

/**
 * A string the API accepts: at most `max` UTF-16 units, no NUL, no lone surrogate (the server
 * refuses both with a 400), not cut inside a surrogate pair; undefined when empty.
 */
function clip(value: unknown, max: number): string | undefined {
  let s = typeof value === 'string' ? value : ''
  if (typeof s.toWellFormed === 'function') s = s.toWellFormed()
  s = s.split('\u0000').join('')
  if (s.length > max) {
    s = s.slice(0, max)
    const last = s.charCodeAt(max - 1)
    if (last >= 0xd800 && last <= 0xdbff) s = s.slice(0, -1)
  }
  return s || undefined
}

const currentPath = () => location.pathname + location.search
const isVisible = () => document.visibilityState !== 'hidden'

function privacySignal(): boolean {
  const n = navigator as Navigator & { globalPrivacyControl?: boolean; msDoNotTrack?: string }
  const w = window as Window & { doNotTrack?: string }
  return (
    n.globalPrivacyControl === true ||
    n.doNotTrack === '1' ||
    n.doNotTrack === 'yes' ||
    w.doNotTrack === '1' ||
    n.msDoNotTrack === '1'
  )
}

function createTracker(options: TrackerOptions, onStop: () => void): Tracker {
  const base = String(options.apiBase || '').replace(/\/+$/, '') + API_PATH
  const heartbeatMs = Math.max(1, Number(options.heartbeatSeconds) || 30) * 1000
  const log = (what: string, err?: unknown) => {
    if (options.debug) console.warn(`[bioAnalytics] ${what}`, err ?? '')
  }
  /** Wraps a callback the page or the browser calls: it never throws. */
  const safe =
    <A extends unknown[]>(fn: (...args: A) => void) =>
    (...args: A) => {
      try {
        fn(...args)
      } catch (err) {
        log('internal error', err)
      }
    }

  let consent = options.consent === true
  let started = false
  let session: Promise<string | null> = Promise.resolve(null)
  let view: ViewState | null = null
  let previousUrl: string | undefined
  let queue: Promise<unknown> = Promise.resolve()
  let heartbeat: ReturnType<typeof setInterval> | undefined
  let pending: ReturnType<typeof setTimeout> | undefined
  const undo: (() => void)[] = []

  /** A JSON call; resolves to the envelope's `data`, or null on any failure. */
  function call(method: string, path: string, body?: Json, token?: string): Promise<Json | null> {
    const headers: Record<string, string> = {}
    if (body) headers['content-type'] = 'application/json'
    if (token) headers.authorization = `Bearer ${token}`
    return fetch(base + path, {
      method,
      headers,
      body: body ? JSON.stringify(body) : undefined,
      credentials: 'omit',
    })
      .then((res) => (res.ok ? res.json() : null))
      .then((json) => (json && typeof json.data === 'object' ? (json.data as Json) : null))
      .catch((err) => {
        log(`${method} ${path} failed`, err)
        return null
      })
  }

  function openSession(): Promise<string | null> {
    const stored = load('sessionStorage', SESSION_KEY)
    if (stored) return Promise.resolve(stored === UNTRACKED ? null : stored)
    let visitorId = load('localStorage', VISITOR_KEY)
    if (!visitorId) {
      visitorId = uuid()
      save('localStorage', VISITOR_KEY, visitorId)
    }
    const params = new URLSearchParams(location.search)
    const body: Json = {
      visitorId,
      consentAnalytics: 'granted',
      referrer: clip(document.referrer, 2048),
      landingPage: clip(currentPath(), 2048),
      bioPageId: options.bioPageId,
      trackingToken: options.trackingToken,
    }
    try {
      body.timezone = clip(Intl.DateTimeFormat().resolvedOptions().timeZone, 64)
    } catch {}
    for (const name of UTM)
      body[`utm${name[0]!.toUpperCase()}${name.slice(1)}`] = clip(params.get(`utm_${name}`), 255)
    return call('POST', '/session', body).then((data) => {
      if (!data) return null // network or server trouble: not tracked on this page, retried on the next
      const id = typeof data.id === 'string' ? data.id : null
      if (started) save('sessionStorage', SESSION_KEY, id ?? UNTRACKED)
      return id
    })
  }

  function scrollDepth(): number {
    const root = document.documentElement
    const height = Math.max(root.scrollHeight, document.body ? document.body.scrollHeight : 0)
    const seen = (window.scrollY || root.scrollTop || 0) + window.innerHeight
    return height > 0 ? Math.min(100, (seen / height) * 100) : 100
  }
  const measure = safe(() => {
    if (view && document.readyState !== 'loading') view.scroll = Math.max(view.scroll, scrollDepth())
  })

  function beginView(): void {
    const path = currentPath()
    const referrer = clip(previousUrl ?? document.referrer, 2048)
    previousUrl = location.href.split('#')[0]
    const v: ViewState = {
      id: null,
      path,
      visibleMs: 0,
      visibleSince: isVisible() ? now() : null,
      scroll: 0,
      sent: '',
      leaveWanted: false,
    }
    view = v
    measure()
    const body = { path: clip(path, 2048) ?? '/', title: clip(document.title, 512), referrer }
    // One pageview at a time, in navigation order: the server orders a session's views by arrival.
    queue = queue
      .then(() => session)
      .then((sessionId) => (sessionId && started ? call('POST', '/pageview', { sessionId, ...body }) : null))
      .then((data) => {
        v.id = data && typeof data.id === 'string' ? data.id : null
        if (v.leaveWanted && view === v) sendLeave()
      })
  }

  /** After a history change: a new view when the path changed (replaceState of the same URL is not one). */
  const locationChanged = safe(() => {
    clearTimeout(pending)
    // Next task: routers usually set the new title right after pushState.
    pending = setTimeout(
      safe(() => {
        if (started && view && currentPath() !== view.path) beginView()
      }),
      0,
    )
  })

  function visibleSeconds(v: ViewState): number {
    const ms = v.visibleMs + (v.visibleSince === null ? 0 : now() - v.visibleSince)
    return Math.min(MAX_LEAVE_SECONDS, Math.round(ms / 100) / 10)
  }

  /** The leave ping of the current view: cumulative visible seconds and furthest scroll depth. */
  function sendLeave(): void {
    const v = view
    if (!v) return
    measure()
    if (!v.id) {
      v.leaveWanted = true
      return
    }
    v.leaveWanted = false
    const payload = JSON.stringify({ duration: visibleSeconds(v), scrollDepth: Math.round(v.scroll) })
    if (payload === v.sent) return // visibilitychange then pagehide: nothing new to say
    v.sent = payload
    const url = `${base}/pageview/${encodeURIComponent(v.id)}/leave`
    try {
      // A string beacon is text/plain: a simple cross-origin request, no preflight.
      if (typeof navigator.sendBeacon === 'function' && navigator.sendBeacon(url, payload)) return
    } catch (err) {
      log('sendBeacon failed', err)
    }
    try {
      fetch(url, {
        method: 'POST',
        body: payload,
        keepalive: true,
        credentials: 'omit',
        headers: { 'content-type': 'text/plain' },
      }).catch(noop)
    } catch (err) {
      log('leave failed', err)
    }
  }

  function beat(): void {
    if (!isVisible()) return
    session.then((id) => {
      if (id && started) void call('PATCH', `/session/${encodeURIComponent(id)}/heartbeat`)
    })
  }

  const shown = safe(() => {
    if (view && view.visibleSince === null) view.visibleSince = now()
    if (heartbeat === undefined) heartbeat = setInterval(safe(beat), heartbeatMs)
  })
  const hidden = safe(() => {
    if (view && view.visibleSince !== null) {
      view.visibleMs += now() - view.visibleSince
      view.visibleSince = null
    }
    clearInterval(heartbeat)
    heartbeat = undefined
    sendLeave()
  })

  function listen(target: EventTarget, type: string, fn: (event: Event) => void): void {
    const handler = safe(fn)
    const opts: AddEventListenerOptions = { capture: true, passive: true }
    target.addEventListener(type, handler, opts)
    undo.push(() => target.removeEventListener(type, handler, opts))
  }

  function patchHistory(): void {
    for (const name of ['pushState', 'replaceState'] as const) {
      const original = history[name]
      const wrapped = function (this: History, ...args: Parameters<History['pushState']>) {
        const result = original.apply(this, args)
        locationChanged()
        return result
      }
      history[name] = wrapped
      undo.push(() => {
        if (history[name] === wrapped) history[name] = original
      })
    }
    listen(window, 'popstate', locationChanged)
  }

  function start(): void {
    if (started || !consent || typeof fetch !== 'function') return
    if (options.respectDoNotTrack && privacySignal()) return
    started = true
    session = openSession()
    session.then((id) => {
      if (!id) halt() // not tracked: a bot, a refused token, a storage failure
    })
    listen(document, 'visibilitychange', () => (isVisible() ? shown() : hidden()))
    listen(window, 'pagehide', hidden)
    listen(window, 'pageshow', (event) => {
      if ((event as PageTransitionEvent).persisted && isVisible()) shown() // back from the bfcache
    })
    listen(window, 'scroll', measure)
    if (options.trackHistory !== false) patchHistory()
    beginView()
    if (isVisible()) shown()
  }

  function halt(): void {
    started = false
    clearTimeout(pending)
    clearInterval(heartbeat)
    heartbeat = undefined
    while (undo.length > 0) undo.pop()!()
  }

  /** After the DOM is parsed (title, layout for scroll depth), and not while prerendered. */
  function whenReady(fn: () => void): void {
    if ((document as Document & { prerendering?: boolean }).prerendering) {
      document.addEventListener('prerenderingchange', () => whenReady(fn), { once: true })
    } else if (document.readyState === 'loading') {
      document.addEventListener('DOMContentLoaded', safe(fn), { once: true })
    } else fn()
  }

  whenReady(start)

  return {
    session: () => session.catch(() => null),
    get pageViewId() {
      return view?.id ?? null
    },
    setConsent: safe((granted: boolean) => {
      consent = granted === true
      if (consent) return whenReady(start)
      // Withdrawn: stop now and forget the ids (a later grant starts a new visitor).
      halt()
      view = null
      session = Promise.resolve(null)
      forget('localStorage', VISITOR_KEY)
      forget('sessionStorage', SESSION_KEY)
    }),
    identify(accessToken: string): Promise<boolean> {
      try {
        if (typeof accessToken !== 'string' || !accessToken || !started) return Promise.resolve(false)
        return session
          .then((id) =>
            id ? call('PATCH', `/session/${encodeURIComponent(id)}/identify`, undefined, accessToken) : null,
          )
          .then((data) => data?.ok === true)
          .catch(() => false)
      } catch {
        return Promise.resolve(false)
      }
    },
    trackPageView: safe(() => {
      if (started) beginView()
    }),
    stop: safe(() => {
      halt()
      onStop()
    }),
  }
}

let instance: Tracker | null = null

/** Starts the tracker once per page; a second call returns the running one. Never throws. */
export function init(options: TrackerOptions): Tracker | null {
  try {
    if (!instance) {
      const created: Tracker = createTracker(options, () => {
        if (instance === created) instance = null
      })
      instance = created
    }
    return instance
  } catch {
    return null
  }
}

/** The running tracker, if `init` was called. */
export const tracker = (): Tracker | null => instance

/** `identify` on the running tracker (false when there is none or the tab is not tracked). */
export const identify = (accessToken: string): Promise<boolean> =>
  instance ? instance.identify(accessToken) : Promise.resolve(false)

/** `setConsent` on the running tracker. */
export const setConsent = (granted: boolean): void => instance?.setConsent(granted)

/** `stop` on the running tracker. */
export const stop = (): void => instance?.stop()
