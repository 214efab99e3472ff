import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { createServiceApp } from '@bio/service-kit'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadAnalyticsConfig } from '../../services/analytics/src/config.js'
import { trackerRoutes } from '../../services/analytics/src/routes/tracker-routes.js'

/**
 * GET /tracker.js and /tracker.mjs over a folder of its own (the real one, services/analytics/public,
 * is rebuilt by the browser suite meanwhile). The browser suite covers the built files end to end.
 */

const folder = mkdtempSync(join(tmpdir(), 'tracker-routes-'))
const SECRET = 'tracker-routes-secret-at-least-32-bytes-long'
let app: Awaited<ReturnType<typeof createServiceApp>>

beforeAll(async () => {
  const config = loadAnalyticsConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    JWT_SECRET: SECRET,
    TRACKING_HMAC_SECRET: SECRET,
    VISITOR_HASH_SECRET: SECRET,
    CORS_ORIGINS: 'https://app.example',
  })
  app = await createServiceApp({
    name: 'analytics',
    title: 'test',
    description: 'test',
    version: '0.0.0',
    http: config.http,
    bodyLimit: 8192,
    ready: async () => {},
    logger: false,
    resourcePolicy: 'cross-origin',
  })
  await app.register(trackerRoutes, { dir: pathToFileURL(`${folder}/`) })
  await app.ready()
})
afterAll(async () => {
  await app?.close()
  rmSync(folder, { recursive: true, force: true })
})

describe('the tracker routes', () => {
  it('answer the 404 envelope until the tracker is built, then serve it', async () => {
    const missing = await app.inject({ url: '/tracker.mjs' })
    expect(missing.statusCode).toBe(404)
    expect(missing.json()).toMatchObject({ success: false, error: { code: 'NOT_FOUND' } })

    writeFileSync(join(folder, 'tracker.mjs'), 'export const init = () => null\n')
    const res = await app.inject({ url: '/tracker.mjs' })
    expect(res.statusCode).toBe(200)
    expect(res.body).toBe('export const init = () => null\n')
    expect(res.headers['content-type']).toBe('text/javascript; charset=utf-8')
  })

  it('send caching headers, an ETag, and 304 for a matching If-None-Match (weak, strong, list or *)', async () => {
    writeFileSync(join(folder, 'tracker.js'), 'window.bioAnalytics = {}\n')
    const res = await app.inject({ url: '/tracker.js' })
    expect(res.statusCode).toBe(200)
    expect(res.headers['cache-control']).toBe('public, max-age=3600, stale-while-revalidate=86400')
    const etag = String(res.headers.etag)
    expect(etag).toMatch(/^"[\w-]{27}"$/)
    for (const header of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
      const again = await app.inject({ url: '/tracker.js', headers: { 'if-none-match': header } })
      expect(again.statusCode, header).toBe(304)
      expect(again.body).toBe('')
      expect(again.headers.etag).toBe(etag)
    }
    const changed = await app.inject({ url: '/tracker.js', headers: { 'if-none-match': '"other"' } })
    expect(changed.statusCode).toBe(200)
    expect(changed.body).toBe('window.bioAnalytics = {}\n')
  })

  it('may be loaded by any origin, without credentials, and embedded cross-origin', async () => {
    writeFileSync(join(folder, 'tracker.js'), 'window.bioAnalytics = {}\n')
    for (const origin of ['https://app.example', 'https://any-site.example']) {
      const res = await app.inject({ url: '/tracker.js', headers: { origin } })
      expect(res.headers['access-control-allow-origin']).toBe('*')
      expect(res.headers['access-control-allow-credentials']).toBeUndefined()
      expect(res.headers['cross-origin-resource-policy']).toBe('cross-origin')
      expect(res.headers['x-content-type-options']).toBe('nosniff')
    }
  })

  it('answer HEAD with the headers and no body', async () => {
    writeFileSync(join(folder, 'tracker.js'), 'window.bioAnalytics = {}\n')
    const res = await app.inject({ method: 'HEAD', url: '/tracker.js' })
    expect(res.statusCode).toBe(200)
    expect(res.body).toBe('')
    expect(res.headers['content-type']).toBe('text/javascript; charset=utf-8')
    expect(res.headers.etag).toBeTruthy()
  })
})
