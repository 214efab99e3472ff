import { randomBytes } from 'node:crypto'
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
  splitList,
  type TokenConfig,
  tokenConfigFrom,
} from '@bio/service-kit'
import { KeyFormatError, privateKey } from '@bio/token-verifier'
import { type Static, Type } from '@sinclair/typebox'
import type { LoginThrottlePolicy } from './domain/login-throttle-policy.js'

export const AuthEnv = Type.Object({
  ...CommonEnv.properties,
  AUTH_PORT: Type.Integer({ default: 3001, minimum: 0, maximum: 65535 }),
  AUTH_DATABASE_URL: Type.Optional(Type.String({ pattern: '^postgres(ql)?://' })),
  AUTH_BODY_LIMIT: Type.Integer({ default: 16_384, minimum: 1024 }),
  ACCESS_TOKEN_TTL_S: Type.Integer({ default: 900, minimum: 60 }),
  REFRESH_TOKEN_TTL_S: Type.Integer({ default: 30 * 86_400, minimum: 300 }),
  REFRESH_REUSE_GRACE_S: Type.Integer({ default: 10, minimum: 0, maximum: 60 }),
  COOKIE_SECURE: Type.Optional(Type.Boolean()),
  COOKIE_DOMAIN: Type.Optional(Type.String()),
  REGISTRATION_ENABLED: Type.Boolean({ default: true }),
  SUPPORTED_LOCALES: Type.String({ default: 'en,tr,de,fr,es,pt,it' }),
  DEFAULT_LOCALE: Type.String({ default: 'en' }),
  TERMS_VERSION: Type.String({ default: '2026-01-01', minLength: 1 }),
  PRIVACY_VERSION: Type.String({ default: '2026-01-01', minLength: 1 }),
  ARGON2_MEMORY_KIB: Type.Integer({ default: 19_456, minimum: 19_456 }),
  ARGON2_TIME_COST: Type.Integer({ default: 2, minimum: 2 }),
  ARGON2_PARALLELISM: Type.Integer({ default: 1, minimum: 1 }),
  HASH_THREAD_NICENESS: Type.Integer({ default: 10, minimum: 0, maximum: 19 }),
  LOGIN_LOCK_THRESHOLD: Type.Integer({ default: 5, minimum: 1 }),
  LOGIN_LOCK_SECONDS: Type.Integer({ default: 900, minimum: 1 }),
  JWT_PRIVATE_KEY: Type.Optional(Type.String({ minLength: 1 })),
  JWT_VERIFY_PUBLIC_KEYS: Type.String({ default: '' }),
  LOGIN_SLOWDOWN_AFTER: Type.Integer({ default: 20, minimum: 0 }),
  LOGIN_SLOWDOWN_MAX_SECONDS: Type.Integer({ default: 60, minimum: 1, maximum: 3600 }),
  LOGIN_FAILURE_MEMORY_SECONDS: Type.Integer({ default: 86_400, minimum: 60 }),
  LOGIN_TRUSTED_NETWORK_SECONDS: Type.Integer({ default: 30 * 86_400, minimum: 0 }),
  LOGIN_THROTTLE_SECRET: Type.Optional(Type.String({ minLength: 32 })),
  SMTP_URL: Type.Optional(Type.String({ pattern: '^smtps?://' })),
  MAIL_FROM: Type.String({ default: 'BIO.RE <no-reply@localhost>', minLength: 3 }),
  APP_URL: Type.String({ default: 'http://localhost:3000', pattern: '^https?://[^/?#]+$' }),
  EMAIL_VERIFY_TTL_S: Type.Integer({ default: 86_400, minimum: 60 }),
  PASSWORD_RESET_TTL_S: Type.Integer({ default: 3600, minimum: 60 }),
  MAIL_POLL_INTERVAL_MS: Type.Integer({ default: 30_000, minimum: 100 }),
  MAIL_MAX_ATTEMPTS: Type.Integer({ default: 8, minimum: 1 }),
  MAIL_RETRY_BASE_MS: Type.Integer({ default: 2000, minimum: 10 }),
  AUDIT_RETENTION_DAYS: Type.Integer({ default: 365, minimum: 0 }),
})
export type AuthEnv = Static<typeof AuthEnv>

export interface AuthConfig {
  env: AuthEnv['NODE_ENV']
  http: HttpConfig
  db: DatabaseConfig
  tokens: TokenConfig & {
    /** EdDSA / ES256 mode: the PKCS#8 PEM auth signs with (`JWT_PRIVATE_KEY`). */
    privateKey: string | undefined
    accessTtlSeconds: number
    refreshTtlSeconds: number
    reuseGraceSeconds: number
  }
  cookie: { secure: boolean; domain: string | undefined }
  bodyLimit: number
  geoipDbPath: string | undefined
  registrationEnabled: boolean
  locales: { supported: string[]; fallback: string }
  policyVersions: { terms: string; privacy: string }
  argon2: { memoryCost: number; timeCost: number; parallelism: number }
  /** Niceness of the threads that hash (all but the event loop's); 0 leaves them alone. */
  hashThreadNiceness: number
  loginThrottle: LoginThrottlePolicy
  /**
   * HMAC key of the throttle's counter keys and of the known-device cookie. Changing it resets
   * every counter and makes every device cookie unknown.
   */
  loginThrottleSecret: string
  mail: MailConfig
  accountTokens: { verifyEmailTtlSeconds: number; passwordResetTtlSeconds: number }
  /** Days an audit event is kept; 0 keeps them forever. */
  auditRetentionDays: number
}

/**
 * The public keys auth verifies with and publishes: in an asymmetric mode the signing key's own
 * (from JWT_PRIVATE_KEY, whose type must match JWT_ALGORITHM), then JWT_VERIFY_PUBLIC_KEYS.
 */
function authPublicKeys(env: AuthEnv): string[] {
  const verifyOnly = publicKeysFrom('JWT_VERIFY_PUBLIC_KEYS', env.JWT_VERIFY_PUBLIC_KEYS)
  if (env.JWT_ALGORITHM === 'HS256') return verifyOnly
  if (!env.JWT_PRIVATE_KEY)
    throw invalid('JWT_PRIVATE_KEY', `is required when JWT_ALGORITHM=${env.JWT_ALGORITHM}`)
  let own: ReturnType<typeof privateKey>['verification']
  try {
    own = privateKey(env.JWT_PRIVATE_KEY).verification
  } catch (err) {
    throw invalid('JWT_PRIVATE_KEY', err instanceof KeyFormatError ? err.message : 'could not be read')
  }
  if (own.alg !== env.JWT_ALGORITHM)
    throw invalid('JWT_PRIVATE_KEY', `is a key for ${own.alg}, not JWT_ALGORITHM=${env.JWT_ALGORITHM}`)
  return [own.key, ...verifyOnly]
}

export interface MailConfig {
  /** `smtp(s)://user:pass@host:port`; unset: mails are written as `.eml` files under `dir`. */
  smtpUrl: string | undefined
  from: string
  /** The web app's origin; mail links point at its pages. */
  appUrl: string
  dir: string
  pollIntervalMs: number
  maxAttempts: number
  retryBaseMs: number
}

/** Reads and validates the auth service's environment; throws ConfigError listing every problem. */
export function loadAuthConfig(source: Env): AuthConfig {
  const env = loadEnv(AuthEnv, source)
  const supported = splitList(env.SUPPORTED_LOCALES.toLowerCase())
  // The fallback is stored on users who send no usable locale, so it must be a supported one.
  if (!supported.includes(env.DEFAULT_LOCALE.toLowerCase()))
    throw invalid('DEFAULT_LOCALE', 'must be one of SUPPORTED_LOCALES')
  // auth's own verifiers (and every other one) refuse a lifetime above JWT_MAX_LIFETIME_S.
  if (env.ACCESS_TOKEN_TTL_S > env.JWT_MAX_LIFETIME_S)
    throw invalid('ACCESS_TOKEN_TTL_S', 'must not exceed JWT_MAX_LIFETIME_S')
  // In production a mail that lands in a local file is a mail nobody receives.
  if (env.NODE_ENV === 'production' && !env.SMTP_URL)
    throw invalid('SMTP_URL', 'required when NODE_ENV=production')
  if (env.NODE_ENV === 'production' && !env.LOGIN_THROTTLE_SECRET)
    throw invalid('LOGIN_THROTTLE_SECRET', 'is required when NODE_ENV=production (at least 32 bytes)')
  return {
    env: env.NODE_ENV,
    http: httpConfigFrom(env, env.AUTH_PORT),
    db: databaseConfigFrom(env, env.AUTH_DATABASE_URL, 'auth'),
    tokens: {
      ...tokenConfigFrom(env, { publicKeys: authPublicKeys(env) }),
      privateKey: env.JWT_ALGORITHM === 'HS256' ? undefined : env.JWT_PRIVATE_KEY,
      accessTtlSeconds: env.ACCESS_TOKEN_TTL_S,
      refreshTtlSeconds: env.REFRESH_TOKEN_TTL_S,
      reuseGraceSeconds: env.REFRESH_REUSE_GRACE_S,
    },
    cookie: { secure: env.COOKIE_SECURE ?? env.NODE_ENV === 'production', domain: env.COOKIE_DOMAIN },
    bodyLimit: env.AUTH_BODY_LIMIT,
    geoipDbPath: env.GEOIP_DB_PATH,
    registrationEnabled: env.REGISTRATION_ENABLED,
    locales: { supported, fallback: env.DEFAULT_LOCALE.toLowerCase() },
    policyVersions: { terms: env.TERMS_VERSION, privacy: env.PRIVACY_VERSION },
    argon2: {
      memoryCost: env.ARGON2_MEMORY_KIB,
      timeCost: env.ARGON2_TIME_COST,
      parallelism: env.ARGON2_PARALLELISM,
    },
    hashThreadNiceness: env.HASH_THREAD_NICENESS,
    loginThrottle: {
      networkMaxFailures: env.LOGIN_LOCK_THRESHOLD,
      networkLockSeconds: env.LOGIN_LOCK_SECONDS,
      emailFreeFailures: env.LOGIN_SLOWDOWN_AFTER,
      emailMaxDelaySeconds: env.LOGIN_SLOWDOWN_MAX_SECONDS,
      memorySeconds: env.LOGIN_FAILURE_MEMORY_SECONDS,
      trustedNetworkSeconds: env.LOGIN_TRUSTED_NETWORK_SECONDS,
    },
    // Outside production an unset secret is made per process: counters and device cookies then
    // last until a restart (the start command keeps one in .data/dev-secrets.json instead).
    loginThrottleSecret: env.LOGIN_THROTTLE_SECRET ?? randomBytes(32).toString('base64url'),
    mail: {
      smtpUrl: env.SMTP_URL,
      from: env.MAIL_FROM,
      appUrl: env.APP_URL,
      dir: `${env.DATA_DIR}/mail`,
      pollIntervalMs: env.MAIL_POLL_INTERVAL_MS,
      maxAttempts: env.MAIL_MAX_ATTEMPTS,
      retryBaseMs: env.MAIL_RETRY_BASE_MS,
    },
    accountTokens: {
      verifyEmailTtlSeconds: env.EMAIL_VERIFY_TTL_S,
      passwordResetTtlSeconds: env.PASSWORD_RESET_TTL_S,
    },
    auditRetentionDays: env.AUDIT_RETENTION_DAYS,
  }
}
