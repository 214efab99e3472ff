import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type GeoLookup, rowsOf } from '@bio/service-kit'
import {
  type AppHarness,
  type HarnessHandle,
  serviceHarness,
  type UseHarnessOptions,
  useHarness,
} from '@bio/service-kit/testing'
import { eq, type SQL, sql } from 'drizzle-orm'
import type { LightMyRequestResponse } from 'fastify'
import { expect } from 'vitest'
import { buildAuthApp } from '../src/app.js'
import { type AuthConfig, loadAuthConfig } from '../src/config.js'
import { MIGRATIONS_FOLDER } from '../src/db/migrations.js'
import {
  type AuthSchema,
  type RefreshSessionRow,
  refreshSessions,
  schema,
  type UserRow,
  users,
} from '../src/db/schema.js'
import { argon2Hasher, type PasswordHasher } from '../src/domain/password-hasher.js'
import type { MailTransport } from '../src/mail/mail-transport.js'
import { memoryTransport } from './mail-capture.js'

export const TEST_SECRET = 'test-secret-that-is-at-least-32-bytes-long!!'
export const TEST_THROTTLE_SECRET = 'test-throttle-secret-at-least-32-bytes-long'

/** Cheap argon2id parameters: the same code path, milliseconds instead of tens of them. */
export const fastHasher = () => argon2Hasher({ memoryCost: 1024, timeCost: 1, parallelism: 1 })

export function testConfig(env: Record<string, string> = {}, dbUrl?: string): AuthConfig {
  return loadAuthConfig({
    NODE_ENV: 'test',
    JWT_SECRET: TEST_SECRET,
    LOGIN_THROTTLE_SECRET: TEST_THROTTLE_SECRET,
    LOG_LEVEL: 'silent',
    // Load shedding reacts to the machine, not to the code under test: a busy CI box must not turn
    // answers into 503s. overload.test.ts switches it on with its own thresholds.
    OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0',
    // Apps built without a mail transport write .eml files under DATA_DIR: keep them out of the repo.
    DATA_DIR: join(tmpdir(), 'bio-auth-test'),
    ...(dbUrl ? { AUTH_DATABASE_URL: dbUrl } : {}),
    ...env,
  })
}

export type AuthHarness = AppHarness<
  AuthSchema,
  {
    env?: Record<string, string>
    now?: () => Date
    hasher?: PasswordHasher
    geo?: GeoLookup
    /** Where the app's mail goes; an in-memory transport by default. */
    mail?: MailTransport
  },
  Awaited<ReturnType<typeof buildAuthApp>>
>

/** A fresh migrated PostgreSQL database for one test file, and a builder for apps over it. */
export function authHarness(): Promise<AuthHarness> {
  return serviceHarness({
    prefix: 'auth',
    databaseConfig: (url) => testConfig({}, url).db,
    schema,
    migrationsFolder: MIGRATIONS_FOLDER,
    build: (options: AuthBuildOptions, migrated) =>
      buildAuthApp({
        config: testConfig({ RATE_LIMIT_ENABLED: 'false', ...options.env }, migrated.testDb.url),
        database: migrated.database,
        hasher: options.hasher ?? fastHasher(),
        geo: options.geo,
        now: options.now,
        logger: false,
        mailTransport: options.mail ?? memoryTransport(),
      }),
    defaults: {},
  })
}

export type AuthBuildOptions = NonNullable<Parameters<AuthHarness['build']>[0]>
export type AuthHarnessHandle = HarnessHandle<AuthSchema, AuthBuildOptions, AuthApp>

/**
 * This file's harness: registers the beforeAll/afterAll that make and drop its database, builds
 * the default app (`options.app`, or none with `app: false`) and returns the handle tests read.
 */
export const useAuthHarness = (options?: UseHarnessOptions<AuthBuildOptions>): AuthHarnessHandle =>
  useHarness(authHarness, options)

let counter = 0
/** A valid registration body with a unique e-mail. */
export function newUser(overrides: Record<string, unknown> = {}) {
  counter += 1
  return {
    email: `user${counter}.${Date.now()}@example.com`,
    password: 'Correct-Horse1',
    acceptedTerms: true,
    acceptedPrivacy: true,
    ...overrides,
  }
}

// ---------------------------------------------------------------------------------------------
// Shared helpers for the route tests.

export { type ErrorBodyShape, expectError, testClock } from '@bio/service-kit/testing'

export const AUTH = '/api/v1/auth'
export const REFRESH_COOKIE_NAME = 'biore_refresh'

export type AuthApp = Awaited<ReturnType<AuthHarness['build']>>

/** The parsed `biore_refresh` Set-Cookie of a response, or undefined. */
export function refreshCookieOf(res: LightMyRequestResponse) {
  return res.cookies.find((c) => c.name === REFRESH_COOKIE_NAME)
}

export const DEVICE_COOKIE_NAME = 'biore_device'

/** A sign-in from client address `ip`, with a known-device cookie when `device` is given. */
export const loginFrom = (app: AuthApp, email: string, password: string, ip: string, device?: string) =>
  app.inject({
    method: 'POST',
    url: `${AUTH}/login`,
    payload: { email, password },
    remoteAddress: ip,
    ...(device ? { cookies: { [DEVICE_COOKIE_NAME]: device } } : {}),
  })

/** The parsed `biore_device` (known-device) Set-Cookie of a response, or undefined. */
export function deviceCookieOf(res: LightMyRequestResponse) {
  return res.cookies.find((c) => c.name === DEVICE_COOKIE_NAME)
}

/** The raw `biore_refresh` Set-Cookie header line of a response, or undefined. */
export function rawRefreshCookie(res: LightMyRequestResponse): string | undefined {
  const header = res.headers['set-cookie']
  const lines = header === undefined ? [] : Array.isArray(header) ? header : [String(header)]
  return lines.find((l) => l.startsWith(`${REFRESH_COOKIE_NAME}=`))
}

/** Status, headers and body of an answer, less what differs on every request by design (id, date). */
export function observableAnswer(res: LightMyRequestResponse) {
  const { 'x-request-id': _id, date: _date, ...headers } = res.headers
  const body = res.json() as { error?: { code?: string; correlationId?: string } }
  if (body.error) delete body.error.correlationId
  return { status: res.statusCode, headers, body }
}

export interface Registered {
  res: LightMyRequestResponse
  userId: string
  accessToken: string
  refreshToken: string
  email: string
  password: string
}

/** Registers a new user (unique e-mail unless overridden) and asserts the 201. */
export async function registerUser(
  app: AuthApp,
  overrides: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<Registered> {
  const body = newUser(overrides)
  const res = await app.inject({ method: 'POST', url: `${AUTH}/register`, payload: body, headers })
  expect(res.statusCode, res.body).toBe(201)
  const { data } = res.json() as { data: { userId: string; accessToken: string } }
  const cookie = refreshCookieOf(res)
  expect(cookie?.value).toBeTruthy()
  return {
    res,
    userId: data.userId,
    accessToken: data.accessToken,
    refreshToken: cookie!.value,
    email: String(body.email),
    password: String(body.password),
  }
}

export const login = (app: AuthApp, email: string, password: string, headers: Record<string, string> = {}) =>
  app.inject({ method: 'POST', url: `${AUTH}/login`, payload: { email, password }, headers })

/** POST /refresh with the token as the cookie (the browser path). */
export const refreshWithCookie = (app: AuthApp, token: string) =>
  app.inject({ method: 'POST', url: `${AUTH}/refresh`, cookies: { [REFRESH_COOKIE_NAME]: token } })

/** POST /refresh with the token in the JSON body (the non-browser path). */
export const refreshWithBody = (app: AuthApp, token: string) =>
  app.inject({ method: 'POST', url: `${AUTH}/refresh`, payload: { refreshToken: token } })

export const me = (app: AuthApp, accessToken: string) =>
  app.inject({ method: 'GET', url: `${AUTH}/me`, headers: { authorization: `Bearer ${accessToken}` } })

export async function userById(h: AuthHarness, id: string): Promise<UserRow | undefined> {
  const [row] = await h.database.db.select().from(users).where(eq(users.id, id))
  return row
}

export async function usersByEmail(h: AuthHarness, email: string): Promise<UserRow[]> {
  return h.database.db.select().from(users).where(sql`lower(${users.email}) = ${email.trim().toLowerCase()}`)
}

export async function countUsers(h: AuthHarness): Promise<number> {
  const [row] = await h.database.db.select({ n: sql<number>`count(*)::int` }).from(users)
  return row!.n
}

export async function sessionsOf(h: AuthHarness, userId: string): Promise<RefreshSessionRow[]> {
  return h.database.db.select().from(refreshSessions).where(eq(refreshSessions.userId, userId))
}

export async function setUserFields(h: AuthHarness, id: string, fields: Partial<UserRow>): Promise<void> {
  await h.database.db.update(users).set(fields).where(eq(users.id, id))
}

/** Deletes a user row (its refresh sessions go with it: ON DELETE CASCADE). */
export async function deleteUser(h: AuthHarness, id: string): Promise<void> {
  await h.database.db.delete(users).where(eq(users.id, id))
}

/** An app whose mail lands in memory, and that memory: `mail.next(m => ...)` waits for a mail. */
export async function appWithMail(
  h: AuthHarness,
  options: Omit<Parameters<AuthHarness['build']>[0] & {}, 'mail'> = {},
) {
  const mail = memoryTransport()
  const app = await h.build({ ...options, mail })
  await app.ready()
  return { app, mail }
}

/** The next mail of `kind`'s subject to `to`, once the outbox sender has handed it over. */
export async function mailTo(mail: ReturnType<typeof memoryTransport>, to: string, subject?: RegExp) {
  return mail.next((m) => m.to === to && (subject === undefined || subject.test(m.subject)))
}

export const bearer = (accessToken: string) => ({ authorization: `Bearer ${accessToken}` })

/** Rows of a raw query, on either driver. */
export async function query<T = Record<string, unknown>>(h: AuthHarness, text: SQL): Promise<T[]> {
  return rowsOf<T>(await h.database.db.execute(text))
}
