import { clientNetwork } from '@bio/service-kit'
import { describe, expect, it } from 'vitest'
import {
  creditSuccess,
  decideAttempt,
  type LoginThrottlePolicy,
  type ThrottleCounter,
} from '../src/domain/login-throttle-policy.js'
import { testConfig } from './helper.js'

/** The throttle's rules as pure functions: no database, exact times. */

/** The defaults: LOGIN_LOCK_THRESHOLD=5/900 s, LOGIN_SLOWDOWN_AFTER=20, at most 60 s, 30 days' trust. */
const policy: LoginThrottlePolicy = testConfig().loginThrottle

const counter = (key: string, scope: ThrottleCounter['scope']): ThrottleCounter => ({
  key,
  scope,
  emailKey: 'e',
  failures: 0,
  lastFailedAt: null,
  blockedUntil: null,
  trustedUntil: null,
  expiresAt: new Date(0),
})

describe('decideAttempt', () => {
  it('no sequence of attempts, from any networks at any times, is refused for longer than the longest wait', () => {
    let seed = 42
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31
      return seed / 2 ** 31
    }
    const networks = Array.from({ length: 50 }, (_, i) => counter(`n${i}`, 'network'))
    let email = counter('e', 'email')
    let t = Date.parse('2026-01-01T00:00:00Z')
    const longest = Math.max(policy.networkLockSeconds, policy.emailMaxDelaySeconds)
    let refused = 0
    for (let i = 0; i < 20_000; i++) {
      t += Math.floor(random() * 3_000)
      const n = Math.floor(random() * networks.length)
      const decision = decideAttempt(policy, networks[n]!, email, new Date(t))
      if (decision.allowed) {
        networks[n] = decision.network
        email = decision.email
      } else {
        refused += 1
        expect(decision.retryAfterSeconds).toBeGreaterThan(0)
        expect(decision.retryAfterSeconds).toBeLessThanOrEqual(longest)
      }
    }
    expect(refused).toBeGreaterThan(0)
  })

  it('a success clears the network, trusts it, and gives the e-mail its attempt back', () => {
    const now = new Date('2026-01-01T00:00:00Z')
    const first = decideAttempt(policy, counter('n', 'network'), counter('e', 'email'), now)
    if (!first.allowed) throw new Error('first attempt refused')
    expect(first.network.failures).toBe(1)
    expect(first.email.failures).toBe(1)
    const credited = creditSuccess(policy, first.network, first.email, now)
    expect(credited.network).toMatchObject({ failures: 0, blockedUntil: null })
    expect(credited.network.trustedUntil?.toISOString()).toBe('2026-01-31T00:00:00.000Z')
    expect(credited.email.failures).toBe(0)
    expect(credited.network.expiresAt.getTime()).toBe(credited.network.trustedUntil!.getTime())
  })
})

describe('clientNetwork', () => {
  it.each([
    ['203.0.113.9', '203.0.113.9'],
    ['::ffff:203.0.113.9', '203.0.113.9'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:0DB8:0001:0002::9', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['fe80::1:2:3:4', 'fe80:0:0:0::/64'],
  ])('%s → %s', (ip, network) => {
    expect(clientNetwork(ip)).toBe(network)
  })
})
