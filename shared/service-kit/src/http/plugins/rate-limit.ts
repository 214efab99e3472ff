import { AppError, CommonErrors } from '@bio/contracts'
import rateLimit, { type RateLimitOptions } from '@fastify/rate-limit'
import type { onRequestHookHandler } from 'fastify'
import fp from 'fastify-plugin'
import type { Redis } from 'ioredis'
import type { HttpConfig, RateLimitRule } from '../../config/common-env.js'
import { ConfigError } from '../../config/load-env.js'
import { clientNetwork } from '../client-ip.js'

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * Route `config.rateLimit` for an operation: its default rule, replaced by a `RATE_LIMITS`
     * override, or `false` when rate limiting is switched off.
     */
    rateLimitFor(operationId: string, rule: RateLimitRule): RateLimitOptions | false
  }
}

/** Resolves true once `redis` is ready, false if it is not within `timeoutMs`. */
function connected(redis: Redis, timeoutMs: number): Promise<boolean> {
  if (redis.status === 'ready') return Promise.resolve(true)
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(timer)
      redis.off('ready', onReady)
      resolve(ok)
    }
    const onReady = () => done(true)
    const timer = setTimeout(() => done(false), timeoutMs)
    redis.on('ready', onReady)
  })
}

export const MINUTE = 60_000
export const HOUR = 3_600_000

/**
 * Per-route limits keyed by `clientNetwork(req.clientIp)` (which honours TRUST_PROXY; an IPv6
 * client counts by its /64), with the IETF draft
 * `ratelimit-*` and `retry-after` headers. Counters live in Redis when REDIS_URL is set, so every
 * instance shares them; in memory otherwise. If Redis fails, requests are let through.
 */
export const rateLimiting = fp<{
  config: HttpConfig['rateLimit']
  redisUrl: string | undefined
  name: string
}>(
  async (app, { config, redisUrl, name }) => {
    const known = new Set<string>()
    /** The operation each rule handed out by rateLimitFor counts for. */
    const operations = new WeakMap<object, string>()
    app.decorate('rateLimitFor', (operationId: string, rule: RateLimitRule) => {
      known.add(operationId)
      if (!config.enabled) return false
      const chosen = config.overrides[operationId] ?? rule
      const options = { max: chosen.max, timeWindow: chosen.timeWindow }
      operations.set(options, operationId)
      return options
    })
    // A RATE_LIMITS entry that names no route is a typo that would silently leave a limit unchanged.
    app.addHook('onReady', async () => {
      const unknown = Object.keys(config.overrides).filter((name) => !known.has(name))
      if (unknown.length > 0) {
        throw new ConfigError(
          `Invalid configuration:\n  RATE_LIMITS: no route named ${unknown.join(', ')} (known: ${[...known].join(', ')})`,
        )
      }
    })
    if (!config.enabled) return
    // Loaded only when configured: ioredis is ~2 MB of heap that an instance without Redis never uses.
    const redis = redisUrl
      ? new (await import('ioredis')).Redis(redisUrl, {
          maxRetriesPerRequest: 1,
          enableOfflineQueue: false,
          connectTimeout: 2000,
        })
      : undefined
    redis?.on('error', (err) => app.log.warn({ err: { message: err.message } }, 'redis error'))
    // One counter per rule, not per route. @fastify/rate-limit gives every route that carries
    // `config.rateLimit` a store of its own, so the HEAD route Fastify adds for each GET had a
    // second allowance, as had two routes sharing one rule (the PATCH and beacon POST of a page
    // leave). Each rule object becomes one limiter, made once and keyed by its operation, placed
    // in front of every route that carries it; the plugin's own per-route handling never sees it.
    // Runs before the plugin's onRoute hook, which is added when it registers below.
    const limiters = new WeakMap<object, onRequestHookHandler>()
    app.addHook('onRoute', (route) => {
      const routeConfig = route.config
      const rule = routeConfig?.rateLimit
      if (!routeConfig || typeof rule !== 'object' || rule === null) return
      let limiter = limiters.get(rule)
      if (!limiter) {
        const operation = operations.get(rule) ?? `${route.method}:${route.url}`
        limiter = app.rateLimit({
          ...rule,
          keyGenerator: (req) => `${clientNetwork(req.clientIp)}:${operation}`,
        })
        limiters.set(rule, limiter)
      }
      const { rateLimit: _handled, ...rest } = routeConfig
      route.config = rest
      route.onRequest = [...[route.onRequest ?? []].flat(), limiter]
    })
    await app.register(rateLimit, {
      global: false,
      redis,
      nameSpace: `${name}-rl:`,
      skipOnError: true,
      enableDraftSpec: true,
      keyGenerator: (req) => clientNetwork(req.clientIp),
      errorResponseBuilder: (_req, ctx) =>
        new AppError(CommonErrors.RATE_LIMITED, {
          i18nVars: { retryAfterSeconds: Math.ceil(ctx.ttl / 1000) },
        }),
    })
    if (redis) {
      // With the offline queue off, a command sent before the connection is up fails, and the
      // request is let through (skipOnError): every limit was off until Redis had connected. Start
      // serving once it has, or after the connect timeout (then failing open, as documented).
      app.addHook('onReady', async () => {
        if (!(await connected(redis, 2500)))
          app.log.warn('redis not ready; rate limits fail open until it is')
      })
      app.addHook('onClose', async () => void (await redis.quit().catch(() => redis.disconnect())))
    }
  },
  { name: 'rate-limiting', fastify: '5.x' },
)
