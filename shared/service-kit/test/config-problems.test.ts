import { describe, expect, it } from 'vitest'
import { ConfigError, invalid, publicKeysFrom } from '../src/index.js'

describe('invalid(): the one ConfigError builder of both services', () => {
  it('names the variable and the problem, in the loadEnv message format', () => {
    const error = invalid('JWT_SECRET', 'is required')
    expect(error).toBeInstanceOf(ConfigError)
    expect(error.message).toBe('Invalid configuration:\n  JWT_SECRET: is required')
  })

  it('is what the shared token config throws', () => {
    expect(() => publicKeysFrom('JWT_PUBLIC_KEYS', 'not a pem')).toThrow(
      invalid('JWT_PUBLIC_KEYS', 'no PEM "PUBLIC KEY" block found'),
    )
  })
})
