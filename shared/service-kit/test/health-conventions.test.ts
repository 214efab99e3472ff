import { describe, expect, it } from 'vitest'
import { expectError } from '../src/testing/index.js'
import { bareServiceApp } from './service-app.js'
import { useBareApp } from './use-bare-app.js'

/** The liveness and readiness probes every service app has, tested once here. */

const app = useBareApp(() => bareServiceApp())

describe('health probes', () => {
  it('/healthz → 200 { status: ok } and /readyz → 200 { status: ready } while the probe answers', async () => {
    const live = await app().inject({ method: 'GET', url: '/healthz' })
    expect(live.statusCode).toBe(200)
    expect(live.json()).toEqual({ success: true, data: { status: 'ok' } })
    const ready = await app().inject({ method: 'GET', url: '/readyz' })
    expect(ready.statusCode).toBe(200)
    expect(ready.json()).toEqual({ success: true, data: { status: 'ready' } })
  })

  it('a failing probe: /readyz is 503 with retry-after 5, /healthz stays 200', async () => {
    const down = await bareServiceApp({ ready: () => Promise.reject(new Error('database down')) })
    try {
      expect((await down.inject({ url: '/healthz' })).statusCode).toBe(200)
      const ready = await down.inject({ url: '/readyz' })
      expectError(ready, 503, 'SERVICE_UNAVAILABLE', 'common.service_unavailable')
      expect(ready.headers['retry-after']).toBe('5')
      expect(ready.body).not.toContain('database down')
    } finally {
      await down.close()
    }
  })
})
