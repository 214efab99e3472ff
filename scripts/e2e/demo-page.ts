/**
 * The demo site the browser suite drives: a tiny single-page app on its own origin that loads the
 * tracker from the analytics service (classic `<script src>` by default, `?loader=module` for the
 * ES module), asks for consent with a button, routes with `history.pushState`, and signs up and
 * refreshes against the auth service with cross-origin `fetch(..., { credentials: 'include' })`.
 *
 * A test may set `window.DEMO_OPTIONS` (extra tracker options) with an init script.
 * `window.demo` exposes the app's actions and `window.demoState` what they returned.
 */
export interface DemoConfig {
  analytics: string
  auth: string
  loader: 'classic' | 'module'
}

const TITLES: Record<string, string> = {
  '/': 'Demo home',
  '/pricing': 'Pricing',
  '/docs/intro': 'Docs: intro',
  '/signup': 'Sign up',
}

const APP = `
const TITLES = ${JSON.stringify(TITLES)}
const options = Object.assign(
  { apiBase: DEMO.analytics, consent: localStorage.getItem('demo.consent') === 'yes' },
  window.DEMO_OPTIONS || {},
)
window.demoState = { tracker: bioAnalytics.init(options) !== null }

function render() {
  const title = TITLES[location.pathname] || 'Not found'
  document.title = title
  document.getElementById('heading').textContent = title
}
function navigate(path) {
  history.pushState({ at: Date.now() }, '', path)
  render()
}
async function json(res) {
  try { return await res.json() } catch { return null }
}

window.demo = {
  navigate,
  consent() {
    localStorage.setItem('demo.consent', 'yes')
    bioAnalytics.setConsent(true)
  },
  async signup(email, password) {
    const res = await fetch(DEMO.auth + '/api/v1/auth/register', {
      method: 'POST',
      credentials: 'include',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password, acceptedTerms: true, acceptedPrivacy: true }),
    })
    const body = await json(res)
    const result = { status: res.status, userId: body?.data?.userId, accessToken: body?.data?.accessToken }
    // The app's one call after signup: attribute this tab's anonymous session to the new user.
    result.identified = result.accessToken ? await bioAnalytics.identify(result.accessToken) : false
    window.demoState.signup = result
    return result
  },
  async refresh() {
    // No body, no token in script: only the HttpOnly cookie (SameSite=Strict, Path=/api/v1/auth).
    const res = await fetch(DEMO.auth + '/api/v1/auth/refresh', { method: 'POST', credentials: 'include' })
    const body = await json(res)
    return { status: res.status, accessToken: body?.data?.accessToken, error: body?.error?.code }
  },
  async me(accessToken) {
    const res = await fetch(DEMO.auth + '/api/v1/auth/me', { headers: { authorization: 'Bearer ' + accessToken } })
    return { status: res.status, body: await json(res) }
  },
}

document.getElementById('consent').addEventListener('click', () => demo.consent())
document.addEventListener('click', (event) => {
  const link = event.target.closest('a[data-nav]')
  if (!link) return
  event.preventDefault()
  navigate(link.getAttribute('href'))
})
addEventListener('popstate', render)
document.getElementById('signup').addEventListener('submit', (event) => {
  event.preventDefault()
  const form = new FormData(event.target)
  demo.signup(String(form.get('email')), String(form.get('password')))
})
render()
`

export function demoPage(config: DemoConfig, path: string): string {
  const data = `<script>window.DEMO = ${JSON.stringify(config)}</script>`
  const classic = `<script src="${config.analytics}/tracker.js"></script>`
  const app =
    config.loader === 'module'
      ? `<script type="module">
import * as bioAnalytics from '${config.analytics}/tracker.mjs'
window.bioAnalytics = bioAnalytics
${APP}
</script>`
      : `<script type="module">${APP}</script>`
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${TITLES[path] ?? 'Not found'}</title>
<style>
  html, body { margin: 0; padding: 0; }
  /* Exactly 5000 px tall, so a scroll position is a known depth. */
  main { height: 5000px; box-sizing: border-box; padding: 8px; background: linear-gradient(#fff, #9cf); }
</style>
${data}
${config.loader === 'module' ? '' : classic}
</head>
<body>
<main>
  <nav>
    <a href="/" data-nav>Home</a>
    <a href="/pricing" data-nav>Pricing</a>
    <a href="/docs/intro?section=2" data-nav>Docs</a>
    <button id="consent" type="button">Accept analytics</button>
  </nav>
  <form id="signup">
    <input name="email" type="email" autocomplete="off">
    <input name="password" type="password" autocomplete="off">
    <button id="signup-submit" type="submit">Sign up</button>
  </form>
  <h1 id="heading"></h1>
</main>
${app}
</body>
</html>
`
}
