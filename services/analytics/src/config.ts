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
  }
}
