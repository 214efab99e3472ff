import { randomUUID } from 'node:crypto'
import {
  accessClaims,
  type BuiltServer,
  buildServices,
  createTestDatabase,
  edKeyPair,
  freePort,
  hmacToken,
  hsHeader,
  startBuiltServer,
  type TestDatabase,
  type TokenAttackContext,
} from '@bio/service-kit/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { registerOverHttp } from './built-server.js'

/**
 * The README's zero-downtime runbook for the shared key, over the built servers as real processes
 * restarted step by step, while a client loop calls identify (analytics) and /me (auth) with
 * tokens signed by the old and by the new key. No valid token may be refused at any step; at the
 * end a token signed with the removed key gets 401 from both.
 */

const OLD = 'rotation-old-shared-secret-of-32-bytes-or-more'
const NEW = 'rotation-new-shared-secret-of-32-bytes-or-more'
const COMMON = {
  NODE_ENV: 'production',
  // Production requires SMTP; nothing listens here, so queued mail just waits in the outbox.
  SMTP_URL: 'smtp://127.0.0.1:9',
  LOG_LEVEL: 'warn',
  RATE_LIMIT_ENABLED: 'false',
  OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0',
  TRACKING_HMAC_SECRET: 'rotation-tracking-secret-of-32-bytes-or-more',
  VISITOR_HASH_SECRET: 'rotation-visitor-secret-of-32-bytes-or-more!',
  LOGIN_THROTTLE_SECRET: 'rotation-throttle-secret-of-32-bytes-or-more',
  SHUTDOWN_TIMEOUT_MS: '5000',
}
const CHROME_UA =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36'

let authDb: TestDatabase
let analyticsDb: TestDatabase
let ports: { auth: number; analytics: number }
const running: { auth?: BuiltServer; analytics?: BuiltServer } = {}

beforeAll(async () => {
  buildServices()
  ;[authDb, analyticsDb] = await Promise.all([createTestDatabase('rotation'), createTestDatabase('rotation')])
  ports = { auth: await freePort(), analytics: await freePort() }
}, 120_000)
afterAll(async () => {
  await Promise.all([running.auth?.stop(), running.analytics?.stop()])
  await Promise.all([authDb?.drop(), analyticsDb?.drop()])
})

/** Restarts one service with its key configuration; resolves when the new process is ready. */
async function restart(
  service: 'auth' | 'analytics',
  keys: { JWT_SECRET: string; JWT_VERIFY_SECRETS?: string },
) {
  await running[service]?.stop()
  const db = service === 'auth' ? 'AUTH_DATABASE_URL' : 'ANALYTICS_DATABASE_URL'
  running[service] = await startBuiltServer(service, {
    port: ports[service],
    env: {
      ...COMMON,
      [db]: (service === 'auth' ? authDb : analyticsDb).url,
      JWT_SECRET: keys.JWT_SECRET,
      JWT_VERIFY_SECRETS: keys.JWT_VERIFY_SECRETS ?? '',
    },
  })
}

const url = (service: 'auth' | 'analytics', path: string) => `http://127.0.0.1:${ports[service]}${path}`

/** One call: its status, or 0 when no process was listening (a restart in progress). */
const call = (input: string, init: RequestInit) =>
  fetch(input, init).then(
    async (res) => {
      await res.arrayBuffer()
      return res.status
    },
    () => 0,
  )

async function newSession(): Promise<string | undefined> {
  const res = await fetch(url('analytics', '/api/v1/analytics/session'), {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'user-agent': CHROME_UA },
    body: JSON.stringify({ visitorId: `v-${randomUUID()}`, consentAnalytics: 'granted' }),
  }).catch(() => undefined)
  if (res?.status !== 200) return undefined
  return ((await res.json()) as { data: { id: string } }).data.id
}

interface Tally {
  ok: number
  refused: number
  unreachable: number
  other: number[]
}
type Service = 'analytics' | 'auth'
/** Tallies by service, token and step: `analytics | next key | 2`. */
const tallyKey = (service: Service, token: string, step: string) => `${service} | ${token} | ${step}`

/**
 * Calls identify and /me with every live token, round after round, until stopped, tallying each
 * answer under the step current when the call was made. `rounds` counts completed rounds, so a
 * step can wait for a number of rounds against its new processes. An identify that could not run
 * because no session could be created counts as unreachable, never as nothing.
 */
function clientLoop(tokens: Map<string, string>, firstStep: string) {
  const tally = new Map<string, Tally>()
  let step = firstStep
  let stopped = false
  let rounds = 0
  const waiters: (() => void)[] = []
  const record = (key: string, status: number) => {
    const t = tally.get(key) ?? { ok: 0, refused: 0, unreachable: 0, other: [] }
    if (status === 200) t.ok += 1
    else if (status === 401) t.refused += 1
    else if (status === 0 || status === 503) t.unreachable += 1
    else t.other.push(status)
    tally.set(key, t)
  }
  const done = (async () => {
    while (!stopped) {
      for (const [name, token] of [...tokens]) {
        const headers = { authorization: `Bearer ${token}` }
        const session = await newSession()
        const identifyStep = step
        const identified = session
          ? await call(url('analytics', `/api/v1/analytics/session/${session}/identify`), {
              method: 'PATCH',
              headers,
            })
          : 0
        record(tallyKey('analytics', name, identifyStep), identified)
        const meStep = step
        record(tallyKey('auth', name, meStep), await call(url('auth', '/api/v1/auth/me'), { headers }))
      }
      rounds += 1
      for (const wake of waiters.splice(0)) wake()
    }
  })()
  return {
    tally,
    /** Names the step the following calls belong to. */
    step(name: string) {
      step = name
    },
    /** Resolves after `n` more full rounds. */
    async rounds(n: number) {
      const target = rounds + n
      while (rounds < target) await new Promise<void>((r) => waiters.push(r))
    },
    async stop() {
      stopped = true
      await done
    },
  }
}

/** The tallies of a step for every service and each of `tokens`, by key (undefined: never called). */
const tallies = (tally: Map<string, Tally>, step: string, tokens: string[]) =>
  (['analytics', 'auth'] as const).flatMap((service) =>
    tokens.map((token) => {
      const key = tallyKey(service, token, step)
      return [key, tally.get(key)] as const
    }),
  )
/** Every (service, token) of a step was accepted at least once and never refused. */
function expectAccepted(tally: Map<string, Tally>, step: string, tokens: string[]) {
  for (const [key, t] of tallies(tally, step, tokens)) {
    expect(t, `${key}: never called`).toBeDefined()
    expect({ refused: t!.refused, other: t!.other }, `${key}: ${JSON.stringify(t)}`).toEqual({
      refused: 0,
      other: [],
    })
    expect(t!.ok, `${key}: ${JSON.stringify(t)}`).toBeGreaterThan(0)
  }
}
/** Every (service, token) of a step was answered, and every answer was a 401. */
function expectRefused(tally: Map<string, Tally>, step: string, tokens: string[]) {
  for (const [key, t] of tallies(tally, step, tokens)) {
    expect(t, `${key}: never called`).toBeDefined()
    expect(t, key).toEqual({ ok: 0, refused: t!.refused, unreachable: 0, other: [] })
    expect(t!.refused, key).toBeGreaterThan(0)
  }
}
/** While processes restart: calls may find nobody listening, but a token valid on both sides is never refused. */
function expectNeverRefused(tally: Map<string, Tally>, step: string, tokens: string[]) {
  for (const [key, t] of tallies(tally, step, tokens))
    expect({ refused: t?.refused ?? 0, other: t?.other ?? [] }, `${key}: ${JSON.stringify(t)}`).toEqual({
      refused: 0,
      other: [],
    })
}

describe('rotating the shared key with zero downtime (README runbook)', () => {
  it('no valid token is refused at any step; the removed key is refused at the end', async () => {
    await restart('auth', { JWT_SECRET: OLD })
    await restart('analytics', { JWT_SECRET: OLD })
    const user = await registerOverHttp(url('auth', ''))
    const ctx = (secret: string): TokenAttackContext => ({
      secret,
      issuer: 'bio-re-auth',
      audience: 'bio-re-api',
      subject: user.userId,
      edKeys: edKeyPair(),
    })
    const OLD_TOKEN = 'auth-signed, old key'
    const NEXT_TOKEN = 'next key, before the switch'
    const NEW_TOKEN = 'auth-signed, new key'
    const tokens = new Map([[OLD_TOKEN, user.accessToken]])
    const loop = clientLoop(tokens, '0 old key only')
    await loop.rounds(3)

    // 1. The new key verifies everywhere (analytics first, then auth), auth still signs with the old one.
    loop.step('0→1')
    await restart('analytics', { JWT_SECRET: OLD, JWT_VERIFY_SECRETS: NEW })
    await restart('auth', { JWT_SECRET: OLD, JWT_VERIFY_SECRETS: NEW })
    loop.step('1 new key verifies')
    // A token of the next key (as another auth instance already switched would sign it).
    tokens.set(NEXT_TOKEN, hmacToken(hsHeader(ctx(NEW)), accessClaims(ctx(NEW)), NEW))
    await loop.rounds(3)

    // 2. auth signs with the new key; the old one only verifies. Then analytics says the same.
    loop.step('1→2a')
    await restart('auth', { JWT_SECRET: NEW, JWT_VERIFY_SECRETS: OLD })
    loop.step('2a auth signs with the new key')
    const login = await fetch(url('auth', '/api/v1/auth/refresh'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refreshToken: user.refreshToken }),
    })
    expect(login.status).toBe(200)
    const renewed = ((await login.json()) as { data: { accessToken: string } }).data.accessToken
    tokens.set(NEW_TOKEN, renewed)
    await loop.rounds(3)
    loop.step('2a→2b')
    await restart('analytics', { JWT_SECRET: NEW, JWT_VERIFY_SECRETS: OLD })
    loop.step('2b analytics too')
    await loop.rounds(3)

    // 3. After ACCESS_TOKEN_TTL_S and a margin: the old key goes; its token must now be refused.
    loop.step('2b→3')
    await restart('analytics', { JWT_SECRET: NEW })
    await restart('auth', { JWT_SECRET: NEW })
    loop.step('3 old key removed')
    await loop.rounds(3)
    await loop.stop()

    expectAccepted(loop.tally, '0 old key only', [OLD_TOKEN])
    expectNeverRefused(loop.tally, '0→1', [OLD_TOKEN])
    expectAccepted(loop.tally, '1 new key verifies', [OLD_TOKEN, NEXT_TOKEN])
    expectNeverRefused(loop.tally, '1→2a', [OLD_TOKEN, NEXT_TOKEN])
    expectAccepted(loop.tally, '2a auth signs with the new key', [OLD_TOKEN, NEXT_TOKEN, NEW_TOKEN])
    expectNeverRefused(loop.tally, '2a→2b', [OLD_TOKEN, NEXT_TOKEN, NEW_TOKEN])
    expectAccepted(loop.tally, '2b analytics too', [OLD_TOKEN, NEXT_TOKEN, NEW_TOKEN])
    // While the old key goes, its token may be accepted or refused; the others never refused.
    expectNeverRefused(loop.tally, '2b→3', [NEXT_TOKEN, NEW_TOKEN])
    expectAccepted(loop.tally, '3 old key removed', [NEXT_TOKEN, NEW_TOKEN])
    expectRefused(loop.tally, '3 old key removed', [OLD_TOKEN])

    // A token of the removed key, not expired, is refused by both services in the envelope.
    const removed = hmacToken(hsHeader(ctx(OLD)), accessClaims(ctx(OLD)), OLD)
    const headers = { authorization: `Bearer ${removed}` }
    const session = await newSession()
    for (const res of [
      await fetch(url('analytics', `/api/v1/analytics/session/${session}/identify`), {
        method: 'PATCH',
        headers,
      }),
      await fetch(url('auth', '/api/v1/auth/me'), { headers }),
    ]) {
      expect(res.status).toBe(401)
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_token"/)
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('AUTH_UNAUTHORIZED')
    }
  }, 180_000)
})
