import { beforeAll, describe, expect, it } from 'vitest'
import { argon2Hasher, type PasswordHasher } from '../src/domain/password-hasher.js'
import {
  AUTH,
  DEVICE_COOKIE_NAME,
  deviceCookieOf,
  observableAnswer,
  registerUser,
  testClock,
  testConfig,
  useAuthHarness,
} from './helper.js'

/**
 * A known e-mail and an unknown one, walked through the same sign-in sequence (failures until
 * the network lock, then attempts while locked, the right password among them), must give the
 * same status, body and headers at every step, and cost the same.
 *
 * The equality is built in: both paths take an attempt from the throttle, look the user up and
 * verify exactly one argon2 hash (the user's or a dummy one with the same parameters). The test
 * checks that structure by counting the hasher's calls per step, and checks the cost with the
 * REAL argon2 parameters: per phase, the medians of the two sides, sampled alternately so that
 * load from other processes hits both alike, must differ by less than half of one argon2
 * verification measured in the same run, the smallest difference a skipped or extra hash makes.
 */

const THRESHOLD = 3
const LOCKED_STEPS = 2
const PAIRS = 8
const argon2 = testConfig().argon2

/** Another account's known-device cookie, sent with every step: both sides check it alike. */
let foreignDevice: string

function countingHasher(inner: PasswordHasher) {
  const calls = { verify: 0, hash: 0 }
  const hasher: PasswordHasher = {
    hash: (p) => {
      calls.hash += 1
      return inner.hash(p)
    },
    verify: (hash, p) => {
      calls.verify += 1
      return inner.verify(hash, p)
    },
    needsRehash: (hash) => inner.needsRehash(hash),
  }
  return { hasher, calls }
}

const realHasher = argon2Hasher(argon2)
const counted = countingHasher(realHasher)
const clock = testClock(new Date('2026-08-01T10:00:00Z'))
const h = useAuthHarness({
  app: {
    hasher: counted.hasher,
    now: clock.now,
    env: { LOGIN_LOCK_THRESHOLD: String(THRESHOLD), LOGIN_SLOWDOWN_AFTER: '1000' },
  },
})

beforeAll(async () => {
  const other = await registerUser(h.app)
  const signedIn = await h.app.inject({
    method: 'POST',
    url: `${AUTH}/login`,
    payload: { email: other.email, password: other.password },
    remoteAddress: '203.0.113.9',
  })
  foreignDevice = deviceCookieOf(signedIn)!.value
})

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = s.length >> 1
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

interface Step {
  observed: ReturnType<typeof observableAnswer>
  ms: number
  verifies: number
}

async function step(email: string, password: string): Promise<Step> {
  const before = counted.calls.verify
  const started = process.hrtime.bigint()
  const res = await h.app.inject({
    method: 'POST',
    url: `${AUTH}/login`,
    payload: { email, password },
    remoteAddress: '198.51.100.23',
    cookies: { [DEVICE_COOKIE_NAME]: foreignDevice },
  })
  const ms = Number(process.hrtime.bigint() - started) / 1e6
  return { observed: observableAnswer(res), ms, verifies: counted.calls.verify - before }
}

/** The sequence's passwords: wrong ones up to the lock, then a wrong and the right one. */
const sequence = (right: string) => [
  ...Array.from({ length: THRESHOLD }, (_, i) => `Wrong-Password-${i}`),
  ...Array.from({ length: LOCKED_STEPS }, (_, i) => (i % 2 ? right : 'Wrong-Password-x')),
]

describe('sign-in answers for a known and an unknown e-mail, through the whole sequence', () => {
  it('same status, body and headers, the same work, and the same cost at every step', async () => {
    const known = { failing: [] as number[], locked: [] as number[] }
    const unknown = { failing: [] as number[], locked: [] as number[] }
    const oneVerify: number[] = []
    const dummy = await realHasher.hash('Some-Password-1')

    for (let pair = 0; pair < PAIRS; pair++) {
      const user = await registerUser(h.app)
      const ghost = `nobody.${pair}.${Date.now()}@example.com`
      for (const [i, password] of sequence(user.password).entries()) {
        // Alternate which side goes first, so drift hits both alike.
        const order = (pair + i) % 2 === 0 ? ['known', 'unknown'] : ['unknown', 'known']
        const got: Record<string, Step> = {}
        for (const side of order) got[side] = await step(side === 'known' ? user.email : ghost, password)
        const k = got.known!
        const u = got.unknown!
        expect(u.observed, `step ${i + 1}`).toEqual(k.observed)
        expect(u.verifies, `step ${i + 1}`).toBe(k.verifies)
        const phase = i < THRESHOLD ? 'failing' : 'locked'
        expect(k.observed.body.error?.code).toBe(
          phase === 'failing' ? 'INVALID_CREDENTIALS' : 'ACCOUNT_LOCKED',
        )
        expect(k.verifies).toBe(phase === 'failing' ? 1 : 0)
        known[phase].push(k.ms)
        unknown[phase].push(u.ms)
        const started = process.hrtime.bigint()
        await realHasher.verify(dummy, 'Wrong-Password-1')
        oneVerify.push(Number(process.hrtime.bigint() - started) / 1e6)
      }
    }

    const bound = median(oneVerify) / 2
    // The real parameters really cost something: a skipped hash would show.
    expect(argon2).toEqual({ memoryCost: 19_456, timeCost: 2, parallelism: 1 })
    expect(median(oneVerify)).toBeGreaterThan(2)
    for (const phase of ['failing', 'locked'] as const) {
      const k = median(known[phase])
      const u = median(unknown[phase])
      expect(
        Math.abs(k - u),
        `${phase}: medians known ${k.toFixed(1)} ms, unknown ${u.toFixed(1)} ms, bound ${bound.toFixed(1)} ms`,
      ).toBeLessThan(bound)
    }
  }, 120_000)
})
