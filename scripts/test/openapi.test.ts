import { createTestDatabase, type TestDatabase } from '@bio/service-kit/testing'
import openapiTS, { astToString, COMMENT_HEADER } from 'openapi-typescript'
import { afterAll, describe, expect, it } from 'vitest'
import { buildAnalyticsApp } from '../../services/analytics/src/app.js'
import { loadAnalyticsConfig } from '../../services/analytics/src/config.js'
import { buildAuthApp } from '../../services/auth/src/app.js'
import { loadAuthConfig } from '../../services/auth/src/config.js'

/**
 * The OpenAPI documents both services serve, committed under shared/openapi/ with the TypeScript
 * types generated from them (openapi-typescript), so clients (the e2e suite through openapi-fetch,
 * the web app) are typed against the real API. This test fails when what the services serve
 * drifts from what is committed; `npm run openapi` runs it with `--update` to rewrite the files.
 * In CI (CI=true) missing files fail instead of being written.
 */

const REGENERATE = 'stale: run `npm run openapi` and commit shared/openapi/'
const SECRET = 'openapi-secret-that-is-at-least-32-bytes-long'
const dbs: TestDatabase[] = []
afterAll(async () => {
  await Promise.all(dbs.map((db) => db.drop()))
})

async function servedDocument(service: 'auth' | 'analytics'): Promise<object> {
  const db = await createTestDatabase(`openapi_${service}`)
  dbs.push(db)
  const env = { NODE_ENV: 'test', JWT_SECRET: SECRET, LOG_LEVEL: 'silent' }
  const app =
    service === 'auth'
      ? await buildAuthApp({ config: loadAuthConfig({ ...env, AUTH_DATABASE_URL: db.url }), logger: false })
      : await buildAnalyticsApp({
          config: loadAnalyticsConfig({
            ...env,
            TRACKING_HMAC_SECRET: SECRET,
            VISITOR_HASH_SECRET: SECRET,
            ANALYTICS_DATABASE_URL: db.url,
          }),
          logger: false,
        })
  try {
    await app.ready()
    return app.swagger()
  } finally {
    await app.close()
  }
}

describe.each(['auth', 'analytics'] as const)('the %s OpenAPI document', (service) => {
  it(`is committed as shared/openapi/${service}.json, with its types in ${service}.d.ts`, async () => {
    const doc = await servedDocument(service)
    expect(JSON.stringify(doc)).toContain('"operationId"')
    await expect(`${JSON.stringify(doc, null, 2)}\n`).toMatchFileSnapshot(
      `../../shared/openapi/${service}.json`,
      REGENERATE,
    )
    const types = astToString(await openapiTS(structuredClone(doc) as never, { silent: true }))
    await expect(
      `${COMMENT_HEADER}// Generated from ${service}.json by \`npm run openapi\`.\n\n${types}`,
    ).toMatchFileSnapshot(`../../shared/openapi/${service}.d.ts`, REGENERATE)
  })
})
