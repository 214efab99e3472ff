import { describe, expect, it } from 'vitest'
import { eraseMe, exportMe, forget } from './erasure-helper.js'
import { bearer, expectError, useAnalyticsHarness } from './helper.js'

const h = useAnalyticsHarness()

const USER = '4d5e6f70-0000-4000-8000-0000000000d4'

describe('rate limits of the erasure routes (the defaults, per client network)', () => {
  it('erase 5/min, forget 5/min, export 3/min; then 429 in the envelope with Retry-After', async () => {
    const app = await h.build({ env: { RATE_LIMIT_ENABLED: 'true' } })
    const calls: [() => ReturnType<typeof eraseMe>, number][] = [
      [() => eraseMe(app, bearer(USER)), 5],
      [() => forget(app, { visitorId: 'rate-limited' }), 5],
      [() => exportMe(app, bearer(USER)), 3],
    ]
    for (const [call, max] of calls) {
      for (let i = 0; i < max; i++) {
        const res = await call()
        expect(res.statusCode, res.body).toBe(200)
        expect(res.headers['ratelimit-limit']).toBe(String(max))
      }
      const refused = await call()
      expectError(refused, 429)
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0)
    }
  })
})
