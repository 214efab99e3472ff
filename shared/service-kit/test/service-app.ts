import { Type } from '@sinclair/typebox'
import type { FastifyServerOptions } from 'fastify'
import type { ResourcePolicy } from '../src/http/security-headers.js'
import { type App, CommonEnv, createServiceApp, httpConfigFrom, loadEnv } from '../src/index.js'

export interface BareAppOptions {
  /** Environment on top of a valid JWT_SECRET and load shedding switched off. */
  env?: Record<string, string>
  bodyLimit?: number
  resourcePolicy?: ResourcePolicy
  logger?: FastifyServerOptions['logger']
  /** The readiness probe; resolves (always ready) by default. */
  ready?: () => Promise<void>
}

/**
 * A service app with the shared conventions and no database (readiness always answers): the
 * shared tests register a route or two on it and check what every service inherits.
 */
export function bareServiceApp(options: BareAppOptions = {}): Promise<App> {
  const env = loadEnv(CommonEnv, {
    JWT_SECRET: 'shared-conventions-secret-of-32-bytes!',
    // Load shedding reacts to the machine, not to the code under test.
    OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0',
    ...options.env,
  })
  return createServiceApp({
    name: 'conventions',
    title: 'conventions',
    description: 'conventions',
    version: '0.0.0',
    http: httpConfigFrom(env, 0),
    bodyLimit: options.bodyLimit ?? 1024,
    ready: options.ready ?? (async () => {}),
    logger: options.logger ?? false,
    resourcePolicy: options.resourcePolicy,
  })
}

/** A route's rate-limit rule in the conventions app: 2 an hour, overridable by RATE_LIMITS. */
export const LIMITED_RULE = { max: 2, timeWindow: 3_600_000 }

/**
 * The bare app with a route of each kind the conventions speak about: a validated JSON body
 * (`POST /things`, 64-byte limit), a path parameter (`GET /things/:id`), a route that throws
 * (`GET /boom`) and two rate-limited operations (`GET /limited`, `GET /other-limited`).
 */
export async function conventionsApp(options: BareAppOptions = {}): Promise<App> {
  const app = await bareServiceApp(options)
  const body = Type.Object({ name: Type.String({ minLength: 1 }) }, { additionalProperties: false })
  app.post('/things', { bodyLimit: 64, schema: { body } }, async (req) => ({ success: true, data: req.body }))
  app.get('/things/:id', async (req) => ({ success: true, data: req.params }))
  app.get('/boom', async () => {
    throw new Error('connect ECONNREFUSED 10.0.0.5:5432 password=hunter2')
  })
  for (const operation of ['limited', 'other-limited']) {
    const rule = app.rateLimitFor(operation, LIMITED_RULE)
    app.get(`/${operation}`, { config: { rateLimit: rule } }, async () => ({ success: true, data: {} }))
  }
  return app
}
