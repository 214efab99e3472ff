import {
  CommonEnv,
  type DatabaseConfig,
  databaseConfigFrom,
  type Env,
  type HttpConfig,
  httpConfigFrom,
  invalid,
  loadEnv,
  publicKeysFrom,
  type TokenConfig,
  tokenConfigFrom,
} from '@bio/service-kit'
import { type Static, Type } from '@sinclair/typebox'

export const AnalyticsEnv = Type.Object({
  ...CommonEnv.properties,
  ANALYTICS_PORT: Type.Integer({ default: 3002, minimum: 0, maximum: 65535 }),
  ANALYTICS_DATABASE_URL: Type.Optional(Type.String({ pattern: '^postgres(ql)?://' })),
  ANALYTICS_BODY_LIMIT: Type.Integer({ default: 8192, minimum: 1024 }),
  TRACKING_HMAC_SECRET: Type.String({ minLength: 32 }),
  VISITOR_HASH_SECRET: Type.String({ minLength: 32 }),
  INGEST_MAX_BATCH: Type.Integer({ default: 500, minimum: 1, maximum: 5000 }),
  INGEST_MAX_WAIT_MS: Type.Integer({ default: 0, minimum: 0, maximum: 1000 }),
  INGEST_MAX_QUEUE: Type.Integer({ default: 20_000, minimum: 1 }),
  INGEST_LANES: Type.Integer({ default: 2, minimum: 1, maximum: 16 }),
  JWT_PUBLIC_KEYS: Type.String({ default: '' }),
  JWT_JWKS_URL: Type.Optional(Type.String({ pattern: '^https?://' })),
  INGEST_PROBE_INTERVAL_MS: Type.Integer({ default: 1000, minimum: 50, maximum: 60_000 }),
  // 14 months, GA4's longer setting: a year-on-year comparison of a whole month still has both.
  ANALYTICS_RETENTION_DAYS: Type.Integer({ default: 425, minimum: 0, maximum: 36_500 }),
  ANALYTICS_MAINTENANCE_INTERVAL_MS: Type.Integer({ default: 3_600_000, minimum: 0, maximum: 86_400_000 }),
  ANALYTICS_PARTITIONS_AHEAD: Type.Integer({ default: 3, minimum: 1, maximum: 24 }),
})
export type AnalyticsEnv = Static<typeof AnalyticsEnv>

export interface IngestConfig {
  lanes: number
  maxBatch: number
  maxWaitMs: number
  maxQueue: number
  /** While the database is known to be down: how often it is probed (also the 503's Retry-After). */
  probeIntervalMs: number
}

export interface MaintenanceConfig {
  /** Days of data kept (pageviews by entered_at, sessions by last activity); 0 keeps everything. */
  retentionDays: number
  /** How often each instance runs the maintenance task (the first run at start); 0: never (use `npm run analytics:maintain`). */
  intervalMs: number
  /** Months after the current one whose partitions are created ahead. */
  partitionsAhead: number
}

export interface AnalyticsConfig {
  env: AnalyticsEnv['NODE_ENV']
  http: HttpConfig
  db: DatabaseConfig
  tokens: TokenConfig
  bodyLimit: number
  trackingSecret: string
  visitorHashSecret: string
  geoipDbPath: string | undefined
  ingest: IngestConfig
  maintenance: MaintenanceConfig
}

/** Reads and validates the analytics service's environment; throws ConfigError listing every problem. */
export function loadAnalyticsConfig(source: Env): AnalyticsConfig {
  const env = loadEnv(AnalyticsEnv, source)
  const publicKeys = publicKeysFrom('JWT_PUBLIC_KEYS', env.JWT_PUBLIC_KEYS)
  // Analytics only verifies: in an asymmetric mode it holds public keys, no signing material.
  if (env.JWT_ALGORITHM !== 'HS256' && publicKeys.length === 0 && !env.JWT_JWKS_URL)
    throw invalid(
      'JWT_PUBLIC_KEYS',
      `JWT_PUBLIC_KEYS or JWT_JWKS_URL is required when JWT_ALGORITHM=${env.JWT_ALGORITHM}`,
    )
  const interval = env.ANALYTICS_MAINTENANCE_INTERVAL_MS
  if (interval > 0 && interval < 60_000)
    throw invalid('ANALYTICS_MAINTENANCE_INTERVAL_MS', 'must be 0 (off) or at least 60000 (a minute)')
  return {
    env: env.NODE_ENV,
    http: httpConfigFrom(env, env.ANALYTICS_PORT),
    db: databaseConfigFrom(env, env.ANALYTICS_DATABASE_URL, 'analytics'),
    tokens: tokenConfigFrom(env, { publicKeys, jwksUrl: env.JWT_JWKS_URL }),
    bodyLimit: env.ANALYTICS_BODY_LIMIT,
    trackingSecret: env.TRACKING_HMAC_SECRET,
    visitorHashSecret: env.VISITOR_HASH_SECRET,
    geoipDbPath: env.GEOIP_DB_PATH,
    ingest: {
      lanes: env.INGEST_LANES,
      maxBatch: env.INGEST_MAX_BATCH,
      maxWaitMs: env.INGEST_MAX_WAIT_MS,
      maxQueue: env.INGEST_MAX_QUEUE,
      probeIntervalMs: env.INGEST_PROBE_INTERVAL_MS,
    },
    maintenance: {
      retentionDays: env.ANALYTICS_RETENTION_DAYS,
      intervalMs: interval,
      partitionsAhead: env.ANALYTICS_PARTITIONS_AHEAD,
    },
  }
}
