import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { argon2Hasher } from '../src/domain/password-hasher.js'
import {
  type AuthApp,
  type AuthHarness,
  authHarness,
  expectError,
  login,
  registerUser,
  testConfig,
} from './helper.js'

/**
 * Login must not tell an unknown e-mail from a wrong password by its timing: with the REAL argon2
 * parameters (the defaults, OWASP's minimum), both paths hash once. Many alternating samples;
 * medians compared with a tolerance far wider than the noise and far narrower than the gap a
 * skipped hash would leave (about the whole hashing time).
 */

let h: AuthHarness
let app: AuthApp
let email: string

const argon2 = testConfig().argon2

beforeAll(async () => {
  h = await authHarness()
  // The lockout would otherwise switch the wrong-password path to ACCOUNT_LOCKED after 10 tries.
  app = await h.build({ hasher: argon2Hasher(argon2), env: { LOGIN_LOCK_THRESHOLD: '1000000' } })
  email = (await registerUser(app)).email
})
afterAll(async () => {
  await h?.close()
})

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = s.length >> 1
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

async function timedLogin(address: string): Promise<number> {
  const started = process.hrtime.bigint()
  const res = await login(app, address, 'Wrong-Password-1')
  const ms = Number(process.hrtime.bigint() - started) / 1e6
  expectError(res, 401, 'INVALID_CREDENTIALS')
  return ms
}

describe('login timing with the real argon2 parameters', () => {
  it('an unknown e-mail costs what a wrong password costs (medians within a wide margin)', async () => {
    expect(argon2).toEqual({ memoryCost: 19_456, timeCost: 2, parallelism: 1 })
    const unknown = () => `nobody.${Math.random().toString(36).slice(2)}@example.com`
    // Warm up both paths (JIT, the dummy hash, the connection pool).
    for (let i = 0; i < 3; i++) {
      await timedLogin(email)
      await timedLogin(unknown())
    }
    const known: number[] = []
    const missing: number[] = []
    for (let i = 0; i < 15; i++) {
      // Alternate the order so drift (other test files share the CPU) hits both sides alike.
      if (i % 2 === 0) {
        known.push(await timedLogin(email))
        missing.push(await timedLogin(unknown()))
      } else {
        missing.push(await timedLogin(unknown()))
        known.push(await timedLogin(email))
      }
    }
    const k = median(known)
    const m = median(missing)
    // Both paths really hashed: argon2id at 19 MiB / t=2 takes milliseconds, a lookup alone does not.
    expect(k).toBeGreaterThan(5)
    expect(m).toBeGreaterThan(5)
    // A skipped hash would put the unknown e-mail at a small fraction of the wrong password.
    expect(
      m / k,
      `medians: unknown e-mail ${m.toFixed(1)} ms, wrong password ${k.toFixed(1)} ms`,
    ).toBeGreaterThan(0.6)
    expect(
      m / k,
      `medians: unknown e-mail ${m.toFixed(1)} ms, wrong password ${k.toFixed(1)} ms`,
    ).toBeLessThan(1 / 0.6)
  }, 30_000)
})
