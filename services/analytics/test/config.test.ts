import { ConfigError } from '@bio/service-kit'
import { describe, expect, it } from 'vitest'
import { loadAnalyticsConfig } from '../src/config.js'

const base = {
  JWT_ALGORITHM: 'EdDSA',
  TRACKING_HMAC_SECRET: 't'.repeat(32),
  VISITOR_HASH_SECRET: 'v'.repeat(32),
  ANALYTICS_DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/analytics',
}
const load = (env: Record<string, string>) => loadAnalyticsConfig({ ...base, ...env })

describe('JWT_JWKS_URL: https:, or http: to loopback, in production', () => {
  it.each([
    'https://auth.example/.well-known/jwks.json',
    'http://127.0.0.1:3001/.well-known/jwks.json',
    'http://[::1]:3001/.well-known/jwks.json',
    'http://localhost:3001/.well-known/jwks.json',
  ])('production accepts %s', (url) => {
    const config = load({ NODE_ENV: 'production', JWT_JWKS_URL: url })
    expect(config.tokens.jwksUrl).toBe(url)
    expect(config.tokens.jwksAllowInsecureHttp).toBe(false)
  })

  it('production refuses plain http: to another host, naming the variable, not the value', () => {
    const env = { NODE_ENV: 'production', JWT_JWKS_URL: 'http://auth.internal:3001/.well-known/jwks.json' }
    expect(() => load(env)).toThrow(ConfigError)
    expect(() => load(env)).toThrow(/JWT_JWKS_URL: must be an https: URL/)
    expect(() => load(env)).not.toThrow(/auth\.internal/)
  })

  it.each(['development', 'test'])('%s accepts http: to any host', (nodeEnv) => {
    const config = load({ NODE_ENV: nodeEnv, JWT_JWKS_URL: 'http://auth:3001/.well-known/jwks.json' })
    expect(config.tokens.jwksAllowInsecureHttp).toBe(true)
  })
})

describe('maintenance and retention', () => {
  const load = (env: Record<string, string>) =>
    loadAnalyticsConfig({ ...base, JWT_JWKS_URL: 'http://127.0.0.1:3001/.well-known/jwks.json', ...env })
  it('defaults: 425 days kept, hourly, 3 months of partitions ahead', () => {
    expect(load({}).maintenance).toEqual({ retentionDays: 425, intervalMs: 3_600_000, partitionsAhead: 3 })
  })

  it('ANALYTICS_RETENTION_DAYS=0 keeps everything; ANALYTICS_MAINTENANCE_INTERVAL_MS=0 runs no timer', () => {
    const config = load({ ANALYTICS_RETENTION_DAYS: '0', ANALYTICS_MAINTENANCE_INTERVAL_MS: '0' })
    expect(config.maintenance).toMatchObject({ retentionDays: 0, intervalMs: 0 })
  })

  it.each([
    ['ANALYTICS_RETENTION_DAYS', '-1'],
    ['ANALYTICS_RETENTION_DAYS', '14 months'],
    ['ANALYTICS_RETENTION_DAYS', '1.5'],
    ['ANALYTICS_MAINTENANCE_INTERVAL_MS', '1000'],
    ['ANALYTICS_MAINTENANCE_INTERVAL_MS', '-5'],
    ['ANALYTICS_PARTITIONS_AHEAD', '0'],
    ['ANALYTICS_PARTITIONS_AHEAD', '25'],
  ])('refuses %s=%s with a ConfigError naming it', (name, value) => {
    expect(() => load({ [name]: value })).toThrow(ConfigError)
    expect(() => load({ [name]: value })).toThrow(new RegExp(name))
  })
})
