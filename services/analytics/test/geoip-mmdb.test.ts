import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openGeoLookup, rowsOf } from '@bio/service-kit'
import { sql } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { CHROME_UA, sessionBody, useAnalyticsHarness } from './helper.js'
import { writeMmdb } from './mmdb-writer.js'

const file = join(mkdtempSync(join(tmpdir(), 'geoip-')), 'city.mmdb')
writeFileSync(
  file,
  writeMmdb('203.0.113.0', 24, {
    country: { iso_code: 'TR', names: { en: 'Turkey' } },
    city: { names: { en: 'Istanbul' } },
  }),
)

describe('GeoIP from a MaxMind-format database file', () => {
  it('openGeoLookup reads country name, ISO code and city; anything else is unknown', async () => {
    const geo = await openGeoLookup(file)
    expect(geo.lookup('203.0.113.77')).toEqual({ country: 'Turkey', countryCode: 'TR', city: 'Istanbul' })
    expect(geo.lookup('198.51.100.1')).toEqual({ country: null, countryCode: null, city: null })
    expect(geo.lookup('not-an-ip')).toEqual({ country: null, countryCode: null, city: null })
  })

  describe('through the service (GEOIP_DB_PATH)', () => {
    const h = useAnalyticsHarness({ app: false })

    it('stores the country and city of the trusted client IP, never the IP', async () => {
      const app = await h.build({ env: { GEOIP_DB_PATH: file, TRUST_PROXY: 'true' } })
      const res = await app.inject({
        method: 'POST',
        url: '/api/v1/analytics/session',
        headers: { 'user-agent': CHROME_UA, 'cf-connecting-ip': '203.0.113.77' },
        payload: sessionBody(),
      })
      const id = res.json().data.id as string
      const [row] = rowsOf<{ country: string; city: string; everything: string }>(
        await h.database.db.execute(
          sql`select country, city, row_to_json(s)::text as everything from analytics_sessions s where id = ${id}`,
        ),
      )
      expect(row).toMatchObject({ country: 'Turkey', city: 'Istanbul' })
      expect(row!.everything).not.toContain('203.0.113')
    })
  })
})
