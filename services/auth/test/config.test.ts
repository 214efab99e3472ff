import { ConfigError, parseRateLimits } from '@bio/service-kit'
import { describe, expect, it } from 'vitest'
import { loadAuthConfig } from '../src/config.js'
import { TEST_SECRET, TEST_THROTTLE_SECRET } from './helper.js'

/** loadAuthConfig over plain objects: no process.env, no database. */

const load = (env: Record<string, string | undefined> = {}) =>
  loadAuthConfig({ JWT_SECRET: TEST_SECRET, ...env })

function configError(env: Record<string, string | undefined>): ConfigError {
  let caught: unknown
  try {
    loadAuthConfig(env)
  } catch (err) {
    caught = err
  }
  expect(caught, 'the configuration was accepted').toBeInstanceOf(ConfigError)
  return caught as ConfigError
}

describe('loadAuthConfig: defaults', () => {
  it('gives the documented defaults from a minimal environment', () => {
    const config = load()
    expect(config.env).toBe('development')
    expect(config.http.port).toBe(3001)
    expect(config.http.host).toBe('127.0.0.1')
    expect(config.bodyLimit).toBe(16_384)
    expect(config.tokens).toEqual({
      algorithm: 'HS256',
      secret: TEST_SECRET,
      verifySecrets: [],
      publicKeys: [],
      privateKey: undefined,
      jwksUrl: undefined,
      jwksAllowInsecureHttp: true,
      maxLifetimeSeconds: 3600,
      issuer: 'bio-re-auth',
      audience: 'bio-re-api',
      accessTtlSeconds: 900,
      refreshTtlSeconds: 30 * 86_400,
      reuseGraceSeconds: 10,
    })
    expect(config.registrationEnabled).toBe(true)
    expect(config.locales).toEqual({ supported: ['en', 'tr', 'de', 'fr', 'es', 'pt', 'it'], fallback: 'en' })
    expect(config.argon2).toEqual({ memoryCost: 19_456, timeCost: 2, parallelism: 1 })
    expect(config.loginThrottle).toEqual({
      networkMaxFailures: 5,
      networkLockSeconds: 900,
      emailFreeFailures: 20,
      emailMaxDelaySeconds: 60,
      memorySeconds: 86_400,
      trustedNetworkSeconds: 30 * 86_400,
    })
    expect(config.http.rateLimit).toEqual({ enabled: true, overrides: {} })
    expect(config.http.corsOrigins).toEqual([])
    expect(config.db.url).toBeUndefined()
    expect(config.db.dataDir).toBe('.data/auth')
  })

  it('converts strings to the declared types', () => {
    const config = load({
      AUTH_PORT: '8080',
      REGISTRATION_ENABLED: 'false',
      LOGIN_LOCK_THRESHOLD: '3',
      AUTH_DATABASE_URL: 'postgresql://u@h:5432/db',
      CORS_ORIGINS: 'https://a.example, https://b.example ,',
      SUPPORTED_LOCALES: 'EN, De',
      DEFAULT_LOCALE: 'DE',
    })
    expect(config.http.port).toBe(8080)
    expect(config.registrationEnabled).toBe(false)
    expect(config.loginThrottle.networkMaxFailures).toBe(3)
    expect(config.db.url).toBe('postgresql://u@h:5432/db')
    expect(config.http.corsOrigins).toEqual(['https://a.example', 'https://b.example'])
    expect(config.locales).toEqual({ supported: ['en', 'de'], fallback: 'de' })
  })

  it('treats an empty variable as unset', () => {
    expect(load({ AUTH_PORT: '', JWT_ISSUER: '' }).http.port).toBe(3001)
    expect(load({ JWT_ISSUER: '' }).tokens.issuer).toBe('bio-re-auth')
  })

  it('makes the cookie Secure in production unless COOKIE_SECURE says otherwise', () => {
    const smtp = { SMTP_URL: 'smtp://user:pass@127.0.0.1:2525', LOGIN_THROTTLE_SECRET: TEST_THROTTLE_SECRET }
    expect(load({ NODE_ENV: 'production', ...smtp }).cookie.secure).toBe(true)
    expect(load({ NODE_ENV: 'test' }).cookie.secure).toBe(false)
    expect(load({ NODE_ENV: 'production', COOKIE_SECURE: 'false', ...smtp }).cookie.secure).toBe(false)
  })

  it('LOGIN_THROTTLE_SECRET: required in production, at least 32 bytes; made per process elsewhere', () => {
    const smtp = { SMTP_URL: 'smtp://user:pass@127.0.0.1:2525' }
    expect(configError({ JWT_SECRET: TEST_SECRET, NODE_ENV: 'production', ...smtp }).message).toMatch(
      /LOGIN_THROTTLE_SECRET: is required when NODE_ENV=production/,
    )
    expect(configError({ JWT_SECRET: TEST_SECRET, LOGIN_THROTTLE_SECRET: 'short' }).message).toMatch(
      /LOGIN_THROTTLE_SECRET/,
    )
    expect(
      load({ NODE_ENV: 'production', ...smtp, LOGIN_THROTTLE_SECRET: TEST_THROTTLE_SECRET })
        .loginThrottleSecret,
    ).toBe(TEST_THROTTLE_SECRET)
    const made = load().loginThrottleSecret
    expect(made.length).toBeGreaterThanOrEqual(32)
    expect(load().loginThrottleSecret).not.toBe(made)
  })

  it('refuses to start in production without SMTP_URL; elsewhere mail goes to .eml files under DATA_DIR', () => {
    expect(configError({ JWT_SECRET: TEST_SECRET, NODE_ENV: 'production' }).message).toMatch(/SMTP_URL/)
    expect(configError({ JWT_SECRET: TEST_SECRET, SMTP_URL: 'http://x' }).message).toMatch(/SMTP_URL/)
    expect(configError({ JWT_SECRET: TEST_SECRET, APP_URL: 'https://app.bio.re/' }).message).toMatch(
      /APP_URL/,
    )
    const dev = load({ DATA_DIR: '/tmp/bio' })
    expect(dev.mail).toMatchObject({
      smtpUrl: undefined,
      dir: '/tmp/bio/mail',
      appUrl: 'http://localhost:3000',
    })
    expect(dev.accountTokens).toEqual({ verifyEmailTtlSeconds: 86_400, passwordResetTtlSeconds: 3600 })
    expect(dev.auditRetentionDays).toBe(365)
    expect(load({ COOKIE_SECURE: 'true', COOKIE_DOMAIN: '.bio.re' }).cookie).toEqual({
      secure: true,
      domain: '.bio.re',
    })
  })

  it('parses TRUST_PROXY as a boolean, a hop count or an address list', () => {
    expect(load({ TRUST_PROXY: 'true' }).http.trustProxy).toBe(true)
    expect(load({ TRUST_PROXY: '2' }).http.trustProxy).toBe(2)
    expect(load({ TRUST_PROXY: '10.0.0.0/8, 127.0.0.1' }).http.trustProxy).toEqual([
      '10.0.0.0/8',
      '127.0.0.1',
    ])
    expect(load().http.trustProxy).toBe(false)
  })
})

describe('loadAuthConfig: errors', () => {
  it('a missing JWT_SECRET is a ConfigError naming it', () => {
    expect(configError({}).message).toContain('JWT_SECRET')
  })

  it('a short JWT_SECRET is a ConfigError that names JWT_SECRET but never echoes the value', () => {
    const secret = 'hunter2-short-secret-value'
    const error = configError({ JWT_SECRET: secret })
    expect(error.name).toBe('ConfigError')
    expect(error.message).toContain('JWT_SECRET')
    expect(error.message).not.toContain(secret)
    expect(error.message).not.toContain('hunter2')
  })

  it('lists every problem at once', () => {
    const error = configError({ JWT_SECRET: 'short', AUTH_PORT: 'abc', LOG_LEVEL: 'loud' })
    for (const name of ['JWT_SECRET', 'AUTH_PORT', 'LOG_LEVEL']) expect(error.message).toContain(name)
  })

  it.each(['abc', '70000', '65536', '-1', '80abc', 'Infinity'])(
    'AUTH_PORT=%s is a ConfigError naming AUTH_PORT',
    (port) => {
      const error = configError({ JWT_SECRET: TEST_SECRET, AUTH_PORT: port })
      expect(error.message).toContain('AUTH_PORT')
    },
  )

  // Conversion is strict: nothing is guessed from a number-like string.
  it.each(['3001.5', '1e3', '0x10', 'true', ' '])(
    'AUTH_PORT=%j is a ConfigError naming AUTH_PORT',
    (port) => {
      expect(configError({ JWT_SECRET: TEST_SECRET, AUTH_PORT: `${port}x` }).message).toContain('AUTH_PORT')
      if (port.trim())
        expect(configError({ JWT_SECRET: TEST_SECRET, AUTH_PORT: port }).message).toContain('AUTH_PORT')
    },
  )

  it('booleans accept true/false/1/0 only', () => {
    expect(loadAuthConfig({ JWT_SECRET: TEST_SECRET, REGISTRATION_ENABLED: '0' }).registrationEnabled).toBe(
      false,
    )
    expect(configError({ JWT_SECRET: TEST_SECRET, REGISTRATION_ENABLED: 'yes' }).message).toContain(
      'REGISTRATION_ENABLED',
    )
  })

  it.each([
    ['AUTH_DATABASE_URL', 'mysql://u@h/db'],
    ['REDIS_URL', 'http://cache'],
    ['NODE_ENV', 'staging'],
    ['REGISTRATION_ENABLED', 'maybe'],
    ['ARGON2_MEMORY_KIB', '1024'],
    ['ARGON2_TIME_COST', '1'],
    ['ACCESS_TOKEN_TTL_S', '10'],
    ['REFRESH_TOKEN_TTL_S', '60'],
    ['AUTH_BODY_LIMIT', '100'],
    ['LOGIN_LOCK_THRESHOLD', '0'],
    ['LOGIN_SLOWDOWN_MAX_SECONDS', '0'],
    ['LOGIN_FAILURE_MEMORY_SECONDS', '10'],
    ['DB_POOL_MAX', '0'],
  ])('%s=%s is a ConfigError naming it', (name, value) => {
    const error = configError({ JWT_SECRET: TEST_SECRET, [name]: value })
    expect(error.message).toContain(name)
  })

  it('a DEFAULT_LOCALE outside SUPPORTED_LOCALES is a ConfigError', () => {
    expect(configError({ JWT_SECRET: TEST_SECRET, DEFAULT_LOCALE: 'xx' }).message).toContain('DEFAULT_LOCALE')
    expect(
      configError({ JWT_SECRET: TEST_SECRET, SUPPORTED_LOCALES: 'de,fr', DEFAULT_LOCALE: 'en' }).message,
    ).toContain('DEFAULT_LOCALE')
  })
})

describe('RATE_LIMITS', () => {
  it('parses name=max/window overrides with s, m, h and d units', () => {
    const config = load({
      RATE_LIMIT_ENABLED: 'false',
      RATE_LIMITS: 'login=2/1h, register=5/10m,me=100/30s,refresh=1/1d',
    })
    expect(config.http.rateLimit).toEqual({
      enabled: false,
      overrides: {
        login: { max: 2, timeWindow: 3_600_000 },
        register: { max: 5, timeWindow: 600_000 },
        me: { max: 100, timeWindow: 30_000 },
        refresh: { max: 1, timeWindow: 86_400_000 },
      },
    })
  })

  it('ignores blank entries', () => {
    expect(parseRateLimits(' , login=2/1h ,, ')).toEqual({ login: { max: 2, timeWindow: 3_600_000 } })
    expect(parseRateLimits('')).toEqual({})
  })

  it.each([
    'login',
    'login=2',
    'login=2/1',
    'login=2/1y',
    'login=-1/1h',
    'login=1.5/1h',
    '2fa=1/1h',
    'login = 2/1h',
    '=2/1h',
  ])('RATE_LIMITS=%j is a ConfigError naming RATE_LIMITS', (raw) => {
    const error = configError({ JWT_SECRET: TEST_SECRET, RATE_LIMITS: raw })
    expect(error.message).toContain('RATE_LIMITS')
  })
})
