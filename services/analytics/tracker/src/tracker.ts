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
 *
 * Every row id is a UUIDv7 made here, so a write can be sent again without being counted twice.
 * Writes go through an outbox kept in localStorage (at most 200, at most 24 h old), sent one at a
 * time in order; a network error, a 5xx or a 429 is retried with exponential backoff and jitter,
 * honouring Retry-After, and what is still pending when the page goes away is resumed on the next
 * page load of the same origin. URLs keep only `utm_*` (and `keepParams`) of the query string.
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
  /** Query parameters kept in paths and in-app referrers besides `utm_*` (all others are dropped). */
  keepParams?: string[]
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
  /**
   * Consent withdrawal, complete: stops tracking, clears the stored ids and the outbox at once,
   * and asks the server to erase this visitor's history (`POST /visitor/forget`). The request is
   * kept in localStorage and retried (network errors, 429, 5xx, also on the next page load)
   * until the server answers; resolves true once it confirmed the erasure.
   */
  forget(): Promise<boolean>
  /** Removes every listener and timer; `init` may be called again afterwards. */
  stop(): void
}

interface ViewState {
  id: string
  stored: boolean
  path: string
  visibleMs: number
  visibleSince: number | null
  scroll: number
  sent: string
  leaveWanted: boolean
}

type Json = Record<string, unknown>

/** A write waiting in the outbox: its key (a newer write with the same key replaces it), the call, its session and view. */
interface Pending {
  k: string
  m: string
  p: string
  b: Json
  t: number
  s: string
  v?: string
}

const API_PATH = '/api/v1/analytics'
const VISITOR_KEY = 'bioAnalytics.visitorId'
const SESSION_KEY = 'bioAnalytics.sessionId'
const SEQ_KEY = 'bioAnalytics.beat'
const OUTBOX_KEY = 'bioAnalytics.outbox'
/** A visitor id whose erasure the server has not confirmed yet (kept across page loads until it does). */
const FORGET_KEY = 'bioAnalytics.forget'
const MAX_PENDING = 200
const MAX_AGE_MS = 86_400_000
const MAX_BACKOFF_MS = 60_000
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
function unset(kind: StorageKind, key: string): void {
  delete memory[kind + key]
  try {
    window[kind].removeItem(key)
  } catch {}
}

let lastMs = 0
/** A UUIDv7: 48 bits of milliseconds (strictly increasing per page, so views keep their order), then random. */
function uuid(): string {
  const c = typeof crypto === 'object' ? crypto : undefined
  const b = new Uint8Array(16)
  if (c && typeof c.getRandomValues === 'function') c.getRandomValues(b)
  else for (let i = 0; i < 16; i++) b[i] = Math.floor(Math.random() * 256)
  let t = Math.max(now(), lastMs + 1)
  lastMs = t
  for (let i = 5; i >= 0; i--) {
    b[i] = t % 256
    t = Math.floor(t / 256)
  }
  b[6] = (b[6]! & 0x0f) | 0x70
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

/** Only http(s) referrers are sent (the server refuses `android-app:`, `data:` and the like). */
const httpUrl = (url: string) => (/^https?:\/\//i.test(url) ? url : '')
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

  const keep = options.keepParams || []
  /** The path with only the query parameters worth keeping (`reset_token=` and the like never leave the page); no fragment. */
  const currentPath = () => {
    const kept = new URLSearchParams()
    new URLSearchParams(location.search).forEach((value, key) => {
      if (key.indexOf('utm_') === 0 || keep.indexOf(key) >= 0) kept.append(key, value)
    })
    const query = kept.toString()
    return location.pathname + (query ? `?${query}` : '')
  }

  let consent = options.consent === true
  let started = false
  let session: Promise<string | null> = Promise.resolve(null)
  let view: ViewState | null = null
  let previousUrl: string | undefined
  let outbox: Pending[] = []
  /** Withdrawals so far: a write sent before one is not followed up when its answer arrives. */
  let withdrawals = 0
  let sending = false
  let attempt = 0
  let retryTimer: ReturnType<typeof setTimeout> | undefined
  let sessionStored: (id: string | null) => void = noop
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

  function readOutbox(): Pending[] {
    try {
      const list = JSON.parse(load('localStorage', OUTBOX_KEY) || '[]')
      return Array.isArray(list) ? list : []
    } catch {
      return []
    }
  }
  /** Drops what is too old or too much (oldest first), then saves the outbox for the next page load. */
  function persist(): void {
    outbox = outbox.filter((e) => e && now() - e.t < MAX_AGE_MS).slice(-MAX_PENDING)
    save('localStorage', OUTBOX_KEY, JSON.stringify(outbox))
  }
  function enqueue(e: Pending): void {
    outbox = outbox.filter((x) => x.k !== e.k)
    outbox.push(e)
    persist()
    pump()
  }

  /** Sends the oldest pending write; the next one only after it was answered (one session's writes stay in order). */
  function pump(): void {
    const e = outbox[0]
    if (sending || retryTimer !== undefined || !e) return
    sending = true
    // An answer that arrives after a withdrawal (forget, consent withdrawn) changes nothing: the
    // outbox it belonged to is gone, and storage must stay clear.
    const sentIn = withdrawals
    fetch(base + e.p, {
      method: e.m,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(e.b),
      credentials: 'omit',
      keepalive: true,
    })
      .then(
        (res) => {
          if (sentIn !== withdrawals) return
          if (res.status >= 500 || res.status === 429) return retry(Number(res.headers.get('retry-after')), e)
          attempt = 0
          return res
            .json()
            .catch(noop)
            .then((json) => answered(e, res.ok && json ? json.data : null))
        },
        (err) => {
          if (sentIn === withdrawals) retry(err, e)
        },
      )
      .catch((err) => log('outbox', err))
      .then(() => {
        sending = false
        pump()
      })
  }
  /** Exponential backoff with jitter, never sooner than the server's Retry-After. */
  function retry(afterSeconds: unknown, e: Pending): void {
    // Not stored yet: `session()` answers null for now (the write is still retried).
    if (e.k === currentSession) sessionStored(null)
    const backoff = Math.min(MAX_BACKOFF_MS, 500 * 2 ** attempt++) * (0.5 + Math.random() / 2)
    const wait = Math.max(
      typeof afterSeconds === 'number' && afterSeconds > 0 ? afterSeconds * 1000 : 0,
      backoff,
    )
    retryTimer = setTimeout(() => {
      retryTimer = undefined
      pump()
    }, wait)
  }
  /** A write was answered for good. A session or view the server did not take drops what depends on it. */
  function answered(e: Pending, data: Json | null): void {
    outbox = outbox.filter((x) => x !== e)
    const id = e.b.id
    if (id !== undefined) {
      const taken = data !== null && data.id === id
      if (!taken) outbox = outbox.filter((x) => (e.v ? x.v !== id : x.s !== id))
      if (!e.v) {
        if (e.s === load('sessionStorage', SESSION_KEY) && !taken)
          save('sessionStorage', SESSION_KEY, UNTRACKED)
        if (e.s === currentSession) {
          sessionStored(taken ? e.s : null)
          session = Promise.resolve(taken ? e.s : null)
          if (!taken) halt() // not tracked: a bot, a refused token
        }
      } else if (view && view.id === id) {
        view.stored = taken
        if (taken && view.leaveWanted) sendLeave()
      }
    }
    persist()
  }

  let currentSession = ''
  function openSession(): Promise<string | null> {
    const stored = load('sessionStorage', SESSION_KEY)
    if (stored) {
      if (stored === UNTRACKED) return Promise.resolve(null)
      currentSession = stored
      return Promise.resolve(stored)
    }
    let visitorId = load('localStorage', VISITOR_KEY)
    if (!visitorId) {
      visitorId = uuid()
      save('localStorage', VISITOR_KEY, visitorId)
    }
    const params = new URLSearchParams(location.search)
    const id = uuid()
    currentSession = id
    save('sessionStorage', SESSION_KEY, id)
    const body: Json = {
      id,
      visitorId,
      consentAnalytics: 'granted',
      referrer: clip(httpUrl(document.referrer), 2048),
      landingPage: clip(currentPath(), 2048),
      bioPageId: options.bioPageId,
      trackingToken: options.trackingToken,
    }
    try {
      body.timezone = clip(Intl.DateTimeFormat().resolvedOptions().timeZone, 64)
    } catch {}
    for (const name of UTM)
      body[`utm${name[0]!.toUpperCase()}${name.slice(1)}`] = clip(params.get(`utm_${name}`), 255)
    const answer = new Promise<string | null>((resolve) => {
      sessionStored = resolve
    })
    enqueue({ k: id, m: 'POST', p: '/session', b: body, t: now(), s: id })
    return answer
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
    const referrer = clip(previousUrl ?? httpUrl(document.referrer), 2048)
    previousUrl = location.origin + path
    const v: ViewState = {
      id: uuid(),
      stored: false,
      path,
      visibleMs: 0,
      visibleSince: isVisible() ? now() : null,
      scroll: 0,
      sent: '',
      leaveWanted: false,
    }
    view = v
    measure()
    const sessionId = currentSession
    if (!sessionId) return
    const body = {
      id: v.id,
      sessionId,
      path: clip(path, 2048) ?? '/',
      title: clip(document.title, 512),
      referrer,
    }
    enqueue({ k: v.id, m: 'POST', p: '/pageview', b: body, t: now(), s: sessionId, v: v.id })
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
    const leave = { duration: visibleSeconds(v), scrollDepth: Math.round(v.scroll) }
    const payload = JSON.stringify(leave)
    if (payload === v.sent) return // visibilitychange then pagehide: nothing new to say
    v.sent = payload
    if (!v.stored || retryTimer !== undefined) {
      // The view is not stored yet, or writes are pending (the API was unreachable): the leave
      // waits behind them in the outbox, also across a reload, instead of a beacon that may be lost.
      v.leaveWanted = true
      enqueue({
        k: `l${v.id}`,
        m: 'PATCH',
        p: `/pageview/${v.id}/leave`,
        b: leave,
        t: now(),
        s: currentSession,
        v: v.id,
      })
      return
    }
    v.leaveWanted = false
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

  /** A heartbeat with the next `seq` of the session; a pending one is replaced, not piled up. */
  function beat(): void {
    const id = currentSession
    if (!isVisible() || !id || !started) return
    const seq = Number(load('sessionStorage', SEQ_KEY) || 0) + 1
    save('sessionStorage', SEQ_KEY, String(seq))
    enqueue({ k: `h${id}`, m: 'PATCH', p: `/session/${id}/heartbeat`, b: { seq }, t: now(), s: id })
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
    outbox = readOutbox()
    session = openSession()
    pump()
    session.then((id) => {
      if (!id && load('sessionStorage', SESSION_KEY) === UNTRACKED) halt() // this tab was refused earlier
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

  /** Stops and clears everything this tracker stored (a later grant starts a new visitor). */
  function withdraw(): void {
    withdrawals++
    halt()
    consent = false
    view = null
    session = Promise.resolve(null)
    outbox = []
    unset('localStorage', VISITOR_KEY)
    unset('localStorage', OUTBOX_KEY)
    unset('sessionStorage', SESSION_KEY)
    unset('sessionStorage', SEQ_KEY)
  }

  let forgetting: Promise<boolean> | undefined
  /** Sends the pending forget until the server answers for good; a 429, 5xx or network error is retried with backoff. */
  function sendForget(): Promise<boolean> {
    forgetting ??= new Promise<boolean>((resolve) => {
      let tries = 0
      const attemptNow = () => {
        const visitorId = load('localStorage', FORGET_KEY)
        if (!visitorId || typeof fetch !== 'function') return resolve(!visitorId)
        const again = (afterSeconds: number) =>
          setTimeout(
            attemptNow,
            Math.max(
              afterSeconds > 0 ? afterSeconds * 1000 : 0,
              Math.min(MAX_BACKOFF_MS, 500 * 2 ** tries++),
            ),
          )
        fetch(`${base}/visitor/forget`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ visitorId }),
          credentials: 'omit',
          keepalive: true,
        }).then(
          (res) => {
            if (res.status >= 500 || res.status === 429) return again(Number(res.headers.get('retry-after')))
            // Answered for good: erased (2xx), or refused as malformed, which no retry changes.
            unset('localStorage', FORGET_KEY)
            resolve(res.ok)
          },
          (err) => {
            log('forget', err)
            again(0)
          },
        )
      }
      attemptNow()
    }).finally(() => {
      forgetting = undefined
    })
    return forgetting
  }

  function halt(): void {
    started = false
    clearTimeout(pending)
    clearTimeout(retryTimer)
    retryTimer = undefined
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

  // A withdrawal the server did not confirm on an earlier page is sent again first.
  if (load('localStorage', FORGET_KEY)) sendForget()
  whenReady(start)

  return {
    session: () => session.catch(() => null),
    get pageViewId() {
      return view?.stored ? view.id : null
    },
    setConsent: safe((granted: boolean) => {
      consent = granted === true
      if (consent) return whenReady(start)
      // Withdrawn: stop now and forget the ids (a later grant starts a new visitor).
      withdraw()
    }),
    forget(): Promise<boolean> {
      try {
        const visitorId = load('localStorage', VISITOR_KEY)
        // Kept before anything is cleared, so a reload before the answer still sends it.
        if (visitorId) save('localStorage', FORGET_KEY, visitorId)
        withdraw()
        return sendForget().catch(() => false)
      } catch {
        return Promise.resolve(false)
      }
    },
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

/** `forget` on the running tracker: erase this visitor's analytics and clear the tracker's storage. */
export const forget = (): Promise<boolean> => (instance ? instance.forget() : Promise.resolve(false))

/** `stop` on the running tracker. */
export const stop = (): void => instance?.stop()
