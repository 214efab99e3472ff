import {
  lockTable,
  outageEnv,
  type Sample,
  sampler,
  sleep,
  useProxiedApps,
  waitUntilReady,
} from '@bio/service-kit/testing'
import { inArray } from 'drizzle-orm'
import type { LightMyRequestResponse } from 'fastify'
import { describe, expect, it } from 'vitest'
import { buildAuthApp } from '../src/app.js'
import { refreshSessions, users } from '../src/db/schema.js'
import { hashRefreshToken } from '../src/domain/refresh-token.js'
import {
  AUTH,
  type AuthApp,
  expectError,
  fastHasher,
  login,
  me,
  newUser,
  refreshCookieOf,
  refreshWithCookie,
  testConfig,
  useAuthHarness,
} from './helper.js'

/**
 * A database outage, simulated by a TCP proxy between the app and PostgreSQL while traffic runs:
 * auth answers 503 SERVICE_UNAVAILABLE in the envelope (never a 500, never a hang), /readyz says
 * 503, it recovers by itself once the database is back, and every write it acknowledged (a 201
 * with a user id, a 200 with tokens) is in the database afterwards.
 */

const CONNECT_TIMEOUT_S = 1
const STATEMENT_TIMEOUT_MS = 400
/** No request may take longer than the connect timeout plus this slack (CI is a 2-core box). */
const SLACK_MS = 1500

const h = useAuthHarness({ app: false })

/** Apps whose own pool reaches the test database through the proxy. */
const outage = useProxiedApps(
  () => h.testDb.url,
  (url, env) => {
    const timeouts = { connectTimeoutS: CONNECT_TIMEOUT_S, statementTimeoutMs: STATEMENT_TIMEOUT_MS }
    return buildAuthApp({
      config: testConfig(outageEnv(timeouts, env), url),
      hasher: fastHasher(),
      logger: false,
    })
  },
)

const claimsOf = (token: string) =>
  JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { sub: string; sid: string }

/** What the service acknowledged: to be found in the database afterwards. */
interface Acknowledged {
  userIds: Set<string>
  sessionIds: Set<string>
  refreshTokens: Set<string>
}

const newAcknowledged = (): Acknowledged => ({
  userIds: new Set(),
  sessionIds: new Set(),
  refreshTokens: new Set(),
})

function acknowledge(ack: Acknowledged, res: LightMyRequestResponse): { access?: string; refresh?: string } {
  if (res.statusCode !== 200 && res.statusCode !== 201) return {}
  const data = res.json().data as { userId?: string; accessToken?: string }
  if (data.userId) ack.userIds.add(data.userId)
  if (!data.accessToken) return {}
  ack.sessionIds.add(claimsOf(data.accessToken).sid)
  const refresh = refreshCookieOf(res)?.value
  if (refresh) ack.refreshTokens.add(refresh)
  return { access: data.accessToken, refresh }
}

/**
 * Workers until `stop` is called, each request timed: the first registers new accounts over and
 * over; the others register once, then cycle me → refresh, signing in again when an outage cost
 * them their tokens.
 */
function runTraffic(target: AuthApp, workers: number, ack: Acknowledged) {
  const { samples, timed } = sampler()
  let running = true
  const worker = async (index: number) => {
    let account: { email: string; password: string } | undefined
    let access: string | undefined
    let refresh: string | undefined
    while (running) {
      if (!account) {
        const body = newUser()
        const res = await timed('register', () =>
          target.inject({ method: 'POST', url: `${AUTH}/register`, payload: body }),
        )
        const got = acknowledge(ack, res)
        if (got.access && index > 0) {
          account = { email: String(body.email), password: String(body.password) }
          ;({ access, refresh } = got)
        }
      } else if (!access || !refresh) {
        const got = acknowledge(
          ack,
          await timed('login', () => login(target, account!.email, account!.password)),
        )
        ;({ access, refresh } = got)
      } else {
        const token = access
        const profile = await timed('me', () => me(target, token))
        if (profile.statusCode !== 200) access = undefined
        const res = await timed('refresh', () => refreshWithCookie(target, refresh!))
        const got = acknowledge(ack, res)
        ;({ access, refresh } = got)
      }
      await sleep(10)
    }
  }
  const done = Promise.all(Array.from({ length: workers }, (_, i) => worker(i)))
  return {
    samples,
    async stop() {
      running = false
      await done
    },
  }
}

/** Every sample is a success or a 503 SERVICE_UNAVAILABLE envelope, and none took too long. */
function expectOnlySuccessOr503(samples: Sample[]) {
  for (const { op, ms, res } of samples) {
    expect(ms, `${op} took ${ms} ms`).toBeLessThan(CONNECT_TIMEOUT_S * 1000 + SLACK_MS)
    if (res.statusCode === 200 || res.statusCode === 201) continue
    const error = expectError(res, 503, 'SERVICE_UNAVAILABLE', 'common.service_unavailable')
    expect(res.headers['retry-after']).toBeDefined()
    expect(JSON.stringify(error)).not.toMatch(/ECONN|CONNECTION_|127\.0\.0\.1|postgres/i)
  }
}

/** Every acknowledged user, refresh session and refresh token is in the database. */
async function expectAllPersisted(ack: Acknowledged) {
  const userIds = [...ack.userIds]
  const sessionIds = [...ack.sessionIds]
  const hashes = [...ack.refreshTokens].map(hashRefreshToken)
  const db = h.database.db
  if (userIds.length > 0) {
    const rows = await db.select({ id: users.id }).from(users).where(inArray(users.id, userIds))
    expect(rows.length, 'acknowledged users').toBe(userIds.length)
  }
  if (sessionIds.length > 0) {
    const rows = await db
      .select({ id: refreshSessions.id })
      .from(refreshSessions)
      .where(inArray(refreshSessions.id, sessionIds))
    expect(rows.length, 'acknowledged refresh sessions').toBe(sessionIds.length)
  }
  if (hashes.length > 0) {
    const rows = await db
      .select({ id: refreshSessions.id })
      .from(refreshSessions)
      .where(inArray(refreshSessions.tokenHash, hashes))
    expect(rows.length, 'acknowledged refresh tokens').toBe(hashes.length)
  }
}

describe('database outage: PostgreSQL stops (connections refused, open ones reset)', () => {
  it('answers 503 in the envelope during the outage, recovers on its own, loses no acknowledged write', async () => {
    const ack = newAcknowledged()
    expect((await outage.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200)
    const traffic = runTraffic(outage.app, 3, ack)
    // Some acknowledged traffic before the outage: wait for a count of successes, not for a time
    // (a register costs an argon2 hash, which a loaded machine makes slow).
    const succeeded = () => traffic.samples.filter((s) => s.res.statusCode < 300).length
    for (let i = 0; i < 800 && succeeded() < 4; i++) await sleep(25)
    expect(succeeded(), 'traffic before the outage').toBeGreaterThanOrEqual(4)

    await outage.proxy.stop()
    const downAt = Date.now()
    await sleep(800)
    const ready = await outage.app.inject({ method: 'GET', url: '/readyz' })
    expectError(ready, 503, 'SERVICE_UNAVAILABLE')
    expect(ready.headers['retry-after']).toBeDefined()
    expect((await outage.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200)
    await sleep(400)
    const upAt = Date.now()
    await outage.proxy.start()

    const recoveryMs = await waitUntilReady(outage.app)
    expect(recoveryMs).toBeLessThan(5000)
    // Traffic flows again without a restart: wait for fresh successes of each kind.
    const since = Date.now()
    for (let i = 0; i < 100; i++) {
      const fresh = traffic.samples.filter((s) => s.startedAt >= since && s.res.statusCode < 300)
      if (['register', 'me', 'refresh'].every((op) => fresh.some((s) => s.op === op))) break
      await sleep(50)
    }
    await sleep(200)
    await traffic.stop()

    const { samples } = traffic
    expectOnlySuccessOr503(samples)
    const during = samples.filter((s) => s.startedAt > downAt + 50 && s.startedAt + s.ms < upAt)
    const after = samples.filter((s) => s.startedAt >= since)
    expect(during.length, 'requests made while the database was down').toBeGreaterThan(5)
    for (const s of during) expect(s.res.statusCode, `${s.op} during the outage`).toBe(503)
    expect(after.filter((s) => s.res.statusCode < 300).length).toBeGreaterThan(3)
    expect(samples.filter((s) => s.startedAt < downAt && s.res.statusCode < 300).length).toBeGreaterThan(3)
    await expectAllPersisted(ack)
  })

  it('a register or login during the outage is a 503 and leaves nothing behind; both work after', async () => {
    const body = newUser()
    await outage.proxy.stop()
    try {
      expectError(
        await outage.app.inject({ method: 'POST', url: `${AUTH}/register`, payload: body }),
        503,
        'SERVICE_UNAVAILABLE',
      )
      expectError(
        await login(outage.app, String(body.email), String(body.password)),
        503,
        'SERVICE_UNAVAILABLE',
      )
    } finally {
      await outage.proxy.start()
    }
    await waitUntilReady(outage.app)
    const rows = await h.database.db
      .select()
      .from(users)
      .where(inArray(users.email, [String(body.email)]))
    expect(rows).toEqual([])
    const res = await outage.app.inject({ method: 'POST', url: `${AUTH}/register`, payload: body })
    expect(res.statusCode, res.body).toBe(201)
    expect((await login(outage.app, String(body.email), String(body.password))).statusCode).toBe(200)
  })
})

describe('database unreachable: connections hang (a black hole)', () => {
  it('answers 503 within DB_CONNECT_TIMEOUT_S instead of hanging, and recovers', async () => {
    // A fresh app: its pool has no connection yet, so every query needs a new one.
    const fresh = await outage.build()
    try {
      await outage.proxy.blackhole()
      const started = Date.now()
      const [ready, reg, signIn] = await Promise.all([
        fresh.inject({ method: 'GET', url: '/readyz' }),
        fresh.inject({ method: 'POST', url: `${AUTH}/register`, payload: newUser() }),
        login(fresh, 'someone@example.com', 'Whatever-1'),
      ])
      const took = Date.now() - started
      expectError(ready, 503, 'SERVICE_UNAVAILABLE')
      expectError(reg, 503, 'SERVICE_UNAVAILABLE')
      expectError(signIn, 503, 'SERVICE_UNAVAILABLE')
      expect(took).toBeGreaterThanOrEqual(CONNECT_TIMEOUT_S * 1000 - 100)
      expect(took).toBeLessThan(CONNECT_TIMEOUT_S * 1000 + SLACK_MS)
    } finally {
      await outage.proxy.start()
    }
    await waitUntilReady(fresh)
    const res = await fresh.inject({ method: 'POST', url: `${AUTH}/register`, payload: newUser() })
    expect(res.statusCode, res.body).toBe(201)
    await fresh.close()
  })
})

describe('a statement that cannot finish (a table locked by someone else)', () => {
  it('is cut by DB_STATEMENT_TIMEOUT_MS: 503 in the envelope, then normal service', async () => {
    const body = newUser()
    expect(
      (await outage.app.inject({ method: 'POST', url: `${AUTH}/register`, payload: body })).statusCode,
    ).toBe(201)
    const lock = await lockTable(h.testDb.url, 'users')
    try {
      const started = Date.now()
      const res = await login(outage.app, String(body.email), String(body.password))
      const took = Date.now() - started
      expectError(res, 503, 'SERVICE_UNAVAILABLE')
      expect(took).toBeGreaterThanOrEqual(STATEMENT_TIMEOUT_MS - 50)
      expect(took).toBeLessThan(STATEMENT_TIMEOUT_MS + SLACK_MS)
    } finally {
      await lock.release()
    }
    expect((await login(outage.app, String(body.email), String(body.password))).statusCode).toBe(200)
  })
})

describe('shutdown while requests are in flight', () => {
  it('app.close() during HTTP traffic: every request completes or gets a 503 envelope; acknowledged writes persist', async () => {
    const closing = await outage.build()
    let arrived = 0
    closing.addHook('onRequest', async () => {
      arrived++
    })
    await closing.listen({ port: 0, host: '127.0.0.1' })
    const address = closing.server.address()
    const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`
    const ack = newAcknowledged()
    const bodies = Array.from({ length: 12 }, () => newUser())
    const requests = bodies.map((body) =>
      fetch(`${base}${AUTH}/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      }).then(
        async (res) => ({ status: res.status, body: (await res.json()) as Record<string, unknown> }),
        (err: Error) => ({ status: 0, body: { error: err.message } as Record<string, unknown> }),
      ),
    )
    // Close once half of them are being served: the rest may be refused, none may be lost.
    while (arrived < bodies.length / 2) await sleep(2)
    await closing.close()
    const answers = await Promise.all(requests)
    for (const answer of answers) {
      // 0: the connection was refused because the server had stopped listening (never accepted).
      expect([0, 201, 503], JSON.stringify(answer)).toContain(answer.status)
      if (answer.status === 201) ack.userIds.add((answer.body.data as { userId: string }).userId)
      if (answer.status === 503)
        expect((answer.body.error as { code: string }).code).toBe('SERVICE_UNAVAILABLE')
    }
    expect(ack.userIds.size).toBeGreaterThan(0)
    await expectAllPersisted(ack)
  })
})
