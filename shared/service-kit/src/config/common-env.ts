import { type Static, Type } from '@sinclair/typebox'
import { ConfigError, splitList } from './load-env.js'

const Bool = (def: boolean) => Type.Boolean({ default: def })
const Int = (def: number, min = 0) => Type.Integer({ default: def, minimum: min })

/** Variables both services read. Each service extends this with its own. */
export const CommonEnv = Type.Object({
  NODE_ENV: Type.Union([Type.Literal('development'), Type.Literal('production'), Type.Literal('test')], {
    default: 'development',
  }),
  HOST: Type.String({ default: '127.0.0.1' }),
  LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
    { default: 'info' },
  ),
  JWT_ALGORITHM: Type.Union([Type.Literal('HS256'), Type.Literal('EdDSA'), Type.Literal('ES256')], {
    default: 'HS256',
  }),
  JWT_SECRET: Type.Optional(Type.String({ minLength: 32, description: 'HS256 key auth signs with' })),
  JWT_VERIFY_SECRETS: Type.String({ default: '' }),
  JWT_MAX_LIFETIME_S: Type.Integer({ default: 3600, minimum: 60 }),
  JWT_ISSUER: Type.String({ default: 'bio-re-auth', minLength: 1 }),
  JWT_AUDIENCE: Type.String({ default: 'bio-re-api', minLength: 1 }),
  REDIS_URL: Type.Optional(Type.String({ pattern: '^rediss?://' })),
  CORS_ORIGINS: Type.String({ default: '' }),
  TRUST_PROXY: Type.String({ default: 'false' }),
  RATE_LIMIT_ENABLED: Bool(true),
  RATE_LIMITS: Type.String({ default: '' }),
  DATA_DIR: Type.String({ default: '.data' }),
  GEOIP_DB_PATH: Type.Optional(Type.String({ minLength: 1 })),
  DB_POOL_MAX: Int(10, 1),
  DB_STATEMENT_TIMEOUT_MS: Int(5000, 100),
  DB_CONNECT_TIMEOUT_S: Int(5, 1),
  SHUTDOWN_TIMEOUT_MS: Int(10_000, 100),
  MIGRATE_ON_START: Bool(true),
  OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: Int(1000),
  OVERLOAD_MAX_HEAP_MB: Int(0),
  HTTP_REQUEST_TIMEOUT_MS: Int(30_000, 100),
  HTTP_HEADERS_TIMEOUT_MS: Int(10_000, 100),
  HTTP_KEEP_ALIVE_TIMEOUT_MS: Int(5_000, 100),
  METRICS_PORT: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535 })),
  METRICS_HOST: Type.String({ default: '127.0.0.1' }),
})
export type CommonEnv = Static<typeof CommonEnv>

export interface RateLimitRule {
  max: number
  timeWindow: number
}

export interface HttpConfig {
  host: string
  port: number
  logLevel: string
  pretty: boolean
  corsOrigins: string[]
  trustProxy: boolean | number | string[]
  redisUrl: string | undefined
  rateLimit: { enabled: boolean; overrides: Record<string, RateLimitRule> }
  shutdownTimeoutMs: number
  /** Load shedding thresholds; 0 switches one off. */
  overload: { maxEventLoopDelayMs: number; maxHeapUsedMb: number }
  /**
   * Socket timeouts: a whole request (headers and body) must arrive within `requestMs`, its
   * headers within `headersMs`; an idle kept-alive connection is closed after `keepAliveMs`.
   */
  timeouts: { requestMs: number; headersMs: number; keepAliveMs: number }
  /** Where Prometheus /metrics is served, on a listener of its own; never on the API port. */
  metrics: { port: number; host: string } | undefined
}

export interface DatabaseConfig {
  url: string | undefined
  migrateOnStart: boolean
  dataDir: string
  poolMax: number
  statementTimeoutMs: number
  connectTimeoutS: number
}

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/** Parses `RATE_LIMITS`: `login=20/1h,register=10/1h` (operationId = max / window). */
export function parseRateLimits(raw: string): Record<string, RateLimitRule> {
  const out: Record<string, RateLimitRule> = {}
  for (const item of splitList(raw)) {
    const m = /^([A-Za-z][\w-]*)=(\d+)\/(\d+)([smhd])$/.exec(item)
    if (!m)
      throw new ConfigError(`Invalid configuration:\n  RATE_LIMITS: "${item}" is not name=max/<n><s|m|h|d>`)
    out[m[1]!] = { max: Number(m[2]), timeWindow: Number(m[3]) * UNITS[m[4]!]! }
  }
  return out
}

function parseTrustProxy(raw: string): HttpConfig['trustProxy'] {
  if (raw === 'true') return true
  if (raw === 'false') return false
  if (/^\d+$/.test(raw)) return Number(raw)
  return splitList(raw)
}

export function httpConfigFrom(env: CommonEnv, port: number): HttpConfig {
  return {
    host: env.HOST,
    port,
    logLevel: env.LOG_LEVEL,
    pretty: env.NODE_ENV === 'development' && process.stdout.isTTY === true,
    corsOrigins: splitList(env.CORS_ORIGINS),
    trustProxy: parseTrustProxy(env.TRUST_PROXY),
    redisUrl: env.REDIS_URL,
    rateLimit: { enabled: env.RATE_LIMIT_ENABLED, overrides: parseRateLimits(env.RATE_LIMITS) },
    shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS,
    overload: {
      maxEventLoopDelayMs: env.OVERLOAD_MAX_EVENT_LOOP_DELAY_MS,
      maxHeapUsedMb: env.OVERLOAD_MAX_HEAP_MB,
    },
    timeouts: {
      requestMs: env.HTTP_REQUEST_TIMEOUT_MS,
      // Node refuses a headers timeout longer than the request timeout.
      headersMs: Math.min(env.HTTP_HEADERS_TIMEOUT_MS, env.HTTP_REQUEST_TIMEOUT_MS),
      keepAliveMs: env.HTTP_KEEP_ALIVE_TIMEOUT_MS,
    },
    metrics: env.METRICS_PORT === undefined ? undefined : { port: env.METRICS_PORT, host: env.METRICS_HOST },
  }
}

export function databaseConfigFrom(env: CommonEnv, url: string | undefined, name: string): DatabaseConfig {
  return {
    url,
    migrateOnStart: env.MIGRATE_ON_START,
    dataDir: `${env.DATA_DIR}/${name}`,
    poolMax: env.DB_POOL_MAX,
    statementTimeoutMs: env.DB_STATEMENT_TIMEOUT_MS,
    connectTimeoutS: env.DB_CONNECT_TIMEOUT_S,
  }
}
