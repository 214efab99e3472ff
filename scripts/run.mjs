#!/usr/bin/env node
// The entry points behind `npm start` / `npm test` / `npm run migrate` (pnpm works the same).
// Plain Node 20 with no dependencies, so it runs on a fresh clone: it installs with the pinned
// pnpm (through npx when pnpm is missing), builds, and then starts, tests or migrates.
import { spawn, spawnSync } from 'node:child_process'
import { generateKeyPairSync, randomBytes } from 'node:crypto'
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const PNPM_VERSION = '12.4.2'
const SERVICES = ['auth', 'analytics'].filter((s) =>
  existsSync(join(root, 'services', s, 'src', 'server.ts')),
)
const bin = (name) => join(root, 'node_modules', '.bin', name)

function run(cmd, args, opts = {}) {
  const res = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...opts })
  if (res.status !== 0) {
    console.error(`\n✖ ${[cmd, ...args].join(' ')} failed (${res.status ?? res.signal})`)
    process.exit(res.status ?? 1)
  }
}

function pnpm(args) {
  const probe = spawnSync('pnpm', ['--version'], { encoding: 'utf8' })
  if (probe.status === 0 && probe.stdout.trim() === PNPM_VERSION) return run('pnpm', args)
  return run('npx', ['-y', `pnpm@${PNPM_VERSION}`, ...args])
}

function ensureInstalled() {
  const marker = join(root, 'node_modules', '.modules.yaml')
  const lock = join(root, 'pnpm-lock.yaml')
  if (existsSync(marker) && statSync(marker).mtimeMs >= statSync(lock).mtimeMs) return
  console.log('› installing dependencies')
  pnpm(['install', '--frozen-lockfile'])
}

const TRACKER = existsSync(join(root, 'services', 'analytics', 'tracker', 'src'))
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium'

function build() {
  console.log('› building')
  run(bin('tsc'), ['-b', ...SERVICES.map((s) => `services/${s}`)])
  // The browser tracker the analytics service serves (services/analytics/public/tracker.{js,mjs}).
  if (TRACKER) run(process.execPath, ['scripts/build-tracker.mjs'])
}

const SECRETS = ['JWT_SECRET', 'TRACKING_HMAC_SECRET', 'VISITOR_HASH_SECRET', 'LOGIN_THROTTLE_SECRET']
const KEY_PAIRS = { EdDSA: ['ed25519', {}], ES256: ['ec', { namedCurve: 'P-256' }] }

/** A key pair for JWT_ALGORITHM=EdDSA / ES256, as PEM: PKCS#8 private, SPKI public. */
function keyPair(algorithm) {
  const [type, options] = KEY_PAIRS[algorithm]
  const { privateKey, publicKey } = generateKeyPairSync(type, options)
  return {
    privateKey: privateKey.export({ format: 'pem', type: 'pkcs8' }),
    publicKey: publicKey.export({ format: 'pem', type: 'spki' }),
  }
}

/**
 * Development only: random secrets kept in .data/dev-secrets.json (mode 600) so both services,
 * and restarts, share them; with JWT_ALGORITHM=EdDSA or ES256, a signing key pair too. In
 * production every secret must come from the environment.
 */
function secrets(env) {
  const algorithm = env.JWT_ALGORITHM || 'HS256'
  const pairName = algorithm in KEY_PAIRS && !env.JWT_PRIVATE_KEY ? `JWT_KEY_PAIR_${algorithm}` : undefined
  // In an asymmetric mode JWT_SECRET plays no part; the key pair is made instead.
  const missing = SECRETS.filter((name) => !env[name] && !(name === 'JWT_SECRET' && algorithm !== 'HS256'))
  if (pairName) missing.push(pairName)
  if (missing.length === 0) return {}
  if (pairName && env.NODE_ENV === 'production')
    missing.splice(missing.indexOf(pairName), 1, 'JWT_PRIVATE_KEY')
  if (env.NODE_ENV === 'production') {
    console.error(`${missing.join(', ')} must be set (at least 32 bytes each) when NODE_ENV=production`)
    process.exit(1)
  }
  const dir = resolve(root, env.DATA_DIR ?? '.data')
  const file = join(dir, 'dev-secrets.json')
  const stored = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : {}
  let changed = false
  for (const name of missing) {
    if (stored[name]) continue
    stored[name] = name === pairName ? keyPair(algorithm) : randomBytes(48).toString('base64url')
    changed = true
  }
  if (changed) {
    mkdirSync(dir, { recursive: true })
    writeFileSync(file, JSON.stringify(stored, null, 2), { mode: 0o600 })
    chmodSync(file, 0o600)
    console.log(`› development secrets kept in ${file}`)
  }
  const out = Object.fromEntries(missing.filter((n) => n !== pairName).map((name) => [name, stored[name]]))
  if (pairName) {
    // auth signs with the private key; analytics gets the public key only.
    out.JWT_PRIVATE_KEY = stored[pairName].privateKey
    if (!env.JWT_PUBLIC_KEYS && !env.JWT_JWKS_URL) out.JWT_PUBLIC_KEYS = stored[pairName].publicKey
  }
  return out
}

/** Auth's own keys, which analytics must never hold: it only verifies tokens. */
const SIGNING_ONLY = ['JWT_PRIVATE_KEY', 'JWT_VERIFY_PUBLIC_KEYS', 'LOGIN_THROTTLE_SECRET']

function serviceEnv(name) {
  const env = { ...process.env, ...secrets(process.env) }
  if (name === 'analytics') {
    for (const key of SIGNING_ONLY) delete env[key]
    if ((env.JWT_ALGORITHM || 'HS256') !== 'HS256') delete env.JWT_SECRET
  }
  return env
}

function start() {
  ensureInstalled()
  build()
  // Each service's Prometheus metrics on a loopback port of its own (never the API port).
  const metricsPorts = { auth: '9101', analytics: '9102' }
  const children = SERVICES.map((name) =>
    spawn(process.execPath, ['--enable-source-maps', `services/${name}/dist/server.js`], {
      cwd: root,
      env: { METRICS_PORT: metricsPorts[name], ...serviceEnv(name) },
      stdio: 'inherit',
    }),
  )
  let stopping = false
  const stopAll = (signal) => {
    stopping = true
    for (const c of children) if (c.exitCode === null) c.kill(signal)
  }
  process.on('SIGINT', () => stopAll('SIGINT'))
  process.on('SIGTERM', () => stopAll('SIGTERM'))
  let exitCode = 0
  let left = children.length
  for (const child of children) {
    child.on('exit', (code, signal) => {
      if (code !== 0 && !stopping) {
        exitCode = code ?? 1
        console.error(`✖ a service exited (${code ?? signal}); stopping the others`)
        stopAll('SIGTERM')
      }
      if (--left === 0) process.exit(exitCode)
    })
  }
}

function migrate() {
  ensureInstalled()
  build()
  for (const name of SERVICES)
    run(process.execPath, [`services/${name}/dist/migrate.js`], { env: serviceEnv(name) })
}

/** `npm run analytics:erase -- --user <uuid> | --visitor <id>`: the support desk's erasure (prints the counts). */
function analyticsErase(args) {
  ensureInstalled()
  build()
  run(process.execPath, ['services/analytics/dist/erase-command.js', ...args], {
    env: serviceEnv('analytics'),
  })
}

function test(args) {
  ensureInstalled()
  build()
  console.log('› typecheck')
  run(bin('tsc'), ['-p', 'tsconfig.json'])
  if (TRACKER) run(bin('tsc'), ['-p', 'services/analytics/tracker'])
  console.log('› lint')
  run(bin('biome'), ['check', '.'])
  if (!existsSync(CHROMIUM)) {
    // The browser suite (scripts/e2e) skips without Chromium, except in CI, where it fails.
    const line = '!'.repeat(100)
    console.warn(
      `\n${line}\n! ${CHROMIUM} is missing: the browser end-to-end tests (scripts/e2e) will be SKIPPED.` +
        `\n! Install it with: apt-get install -y chromium (CI does; there they fail instead).\n${line}\n`,
    )
  }
  console.log('› tests')
  run(bin('vitest'), ['run', ...args])
}

/** Rewrites shared/openapi/*.json and *.d.ts from what the services serve (needs the test PostgreSQL). */
function openapi() {
  ensureInstalled()
  run(bin('vitest'), ['run', 'scripts/test/openapi.test.ts', '--update'])
}

function bench(args) {
  ensureInstalled()
  build()
  run(process.execPath, ['scripts/bench/bench.mjs', ...args])
}

const [command, ...rest] = process.argv.slice(2)
const commands = {
  start,
  test: () => test(rest),
  migrate,
  'analytics:erase': () => analyticsErase(rest),
  bench: () => bench(rest),
  install: ensureInstalled,
  build,
  openapi,
}
if (!commands[command]) {
  console.error(`usage: node scripts/run.mjs <${Object.keys(commands).join('|')}>`)
  process.exit(2)
}
commands[command]()
