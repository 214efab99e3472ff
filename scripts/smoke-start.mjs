#!/usr/bin/env node
// Proves the README's start command on a fresh clone: clones this repository's HEAD into a temp
// folder, runs `npm start` there (install, build, migrate, both services on the embedded
// database), drives register → session → pageview → identify over HTTP, fetches the browser
// tracker, then sends SIGTERM and expects a clean exit; then the same with JWT_ALGORITHM=EdDSA
// (the start command makes a key pair under .data/). CI runs it after the tests.
import { execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'bio-re-fresh-'))
const ports = { auth: 4301, analytics: 4302 }
const url = (svc, path) => `http://127.0.0.1:${ports[svc]}${path}`
const fail = (msg) => {
  throw new Error(msg)
}

async function until(check, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return
    await new Promise((r) => setTimeout(r, 250))
  }
  fail(`timed out waiting for ${what}`)
}

const post = async (svc, path, body, headers = {}) => {
  const res = await fetch(url(svc, path), {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0',
      ...headers,
    },
    body: JSON.stringify(body),
  })
  return { status: res.status, json: await res.json() }
}

/** One `npm start` in the clone with `extraEnv`; drives the stack and stops it with SIGTERM. */
async function startAndDrive(extraEnv, label) {
  let child
  try {
    child = spawn('npm', ['start'], {
      cwd: dir,
      detached: true,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: {
        ...process.env,
        AUTH_PORT: String(ports.auth),
        ANALYTICS_PORT: String(ports.analytics),
        AUTH_DATABASE_URL: '',
        ANALYTICS_DATABASE_URL: '',
        JWT_SECRET: '',
        JWT_PRIVATE_KEY: '',
        JWT_PUBLIC_KEYS: '',
        LOG_LEVEL: 'warn',
        // Load shedding answers for the machine, not for the start command: on a busy CI box the
        // first argon2 hashes would otherwise turn register into a 503 (the tests do the same).
        OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0',
        ...extraEnv,
      },
    })
    let stderr = ''
    child.stderr.on('data', (d) => {
      stderr += d
      process.stderr.write(d)
    })
    const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal)))
    await until(
      async () => (await fetch(url('auth', '/readyz'))).ok && (await fetch(url('analytics', '/readyz'))).ok,
      240_000,
      'both services to be ready',
    )
    console.log(`› ${label}: both services ready on the embedded database`)
    await drive(label)
    // The signal a process manager sends to `npm start`: npm forwards it to the services, which drain and exit 0.
    process.kill(child.pid, 'SIGTERM')
    const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), 20_000))])
    // npm re-raises the signal it forwarded, so its own end is 0 or SIGTERM; the services' exit
    // codes are checked by scripts/run.mjs, which reports any non-zero one with a ✖ line.
    if (code !== 0 && code !== 'SIGTERM') fail(`npm start did not stop after SIGTERM (${code})`)
    if (stderr.includes('✖')) fail('a service did not shut down cleanly')
    for (const svc of ['auth', 'analytics']) {
      const down = async () =>
        !(await fetch(url(svc, '/healthz')).then(
          () => true,
          () => false,
        ))
      await until(down, 15_000, `${svc} to stop after SIGTERM`)
    }
    console.log(`› ${label}: graceful shutdown, both services stopped cleanly`)
  } finally {
    if (child && child.exitCode === null) {
      try {
        process.kill(-child.pid, 'SIGKILL')
      } catch {}
    }
  }
}

/** register → session → pageview → identify, the tracker, and the JWKS auth publishes. */
async function drive(label) {
  const email = `fresh-${label}-${Date.now()}@example.com`
  const reg = await post('auth', '/api/v1/auth/register', {
    email,
    password: 'Fresh-Clone1',
    acceptedTerms: true,
    acceptedPrivacy: true,
  })
  if (reg.status !== 201) fail(`register answered ${reg.status}: ${JSON.stringify(reg.json)}`)
  const session = await post('analytics', '/api/v1/analytics/session', {
    visitorId: 'fresh-visitor',
    consentAnalytics: 'granted',
  })
  const sessionId = session.json.data?.id ?? fail(`session answered ${JSON.stringify(session.json)}`)
  const view = await post('analytics', '/api/v1/analytics/pageview', { sessionId, path: '/' })
  if (!view.json.data?.id) fail(`pageview answered ${JSON.stringify(view.json)}`)
  const identify = await fetch(url('analytics', `/api/v1/analytics/session/${sessionId}/identify`), {
    method: 'PATCH',
    headers: { authorization: `Bearer ${reg.json.data.accessToken}` },
  })
  if (identify.status !== 200) fail(`identify answered ${identify.status}`)
  const alg = JSON.parse(Buffer.from(reg.json.data.accessToken.split('.')[0], 'base64url').toString()).alg
  console.log(`› ${label}: register → session → pageview → identify worked across both services (${alg})`)
  const jwks = await (await fetch(url('auth', '/.well-known/jwks.json'))).json()
  const expectedKeys = label === 'HS256' ? 0 : 1
  if (jwks.keys?.length !== expectedKeys) fail(`the JWKS has ${jwks.keys?.length} keys, not ${expectedKeys}`)
  if (label !== 'HS256' && (alg !== label || jwks.keys[0].alg !== label))
    fail(`tokens are ${alg}, not ${label}`)
  // `npm start` built the browser tracker, and analytics serves it.
  const tracker = await fetch(url('analytics', '/tracker.js'))
  const type = tracker.headers.get('content-type')
  if (tracker.status !== 200 || !type?.startsWith('text/javascript')) {
    fail(`GET /tracker.js answered ${tracker.status} (${type})`)
  }
  if (!(await tracker.text()).includes('bioAnalytics')) fail('GET /tracker.js is not the tracker')
  console.log(`› ${label}: the browser tracker is served at /tracker.js`)
}

try {
  execFileSync('git', ['clone', '--quiet', root, dir], { stdio: 'inherit' })
  console.log(`› fresh clone in ${dir}; running npm start`)
  await startAndDrive({}, 'HS256')
  // The same clone, now installed and built: `JWT_ALGORITHM=EdDSA npm start` makes a key pair under .data/.
  await startAndDrive({ JWT_ALGORITHM: 'EdDSA' }, 'EdDSA')
} finally {
  rmSync(dir, { recursive: true, force: true })
}
