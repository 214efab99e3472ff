import maxmind, { type CityResponse, type Reader } from 'maxmind'

export interface GeoLocation {
  /** English country name, as the dashboards show it ("Turkey"). */
  country: string | null
  /** ISO 3166-1 alpha-2 code ("TR"). */
  countryCode: string | null
  city: string | null
}

export interface GeoLookup {
  lookup(ip: string): GeoLocation
}

const NONE: GeoLocation = { country: null, countryCode: null, city: null }

/** No database configured: every lookup is unknown. */
export const noGeoLookup: GeoLookup = { lookup: () => NONE }

/**
 * Country (English name and ISO code) and city from a MaxMind-format (.mmdb) City database. The IP is only
 * looked up, never stored. Any failure is an unknown location.
 */
export async function openGeoLookup(path: string): Promise<GeoLookup> {
  const reader: Reader<CityResponse> = await maxmind.open<CityResponse>(path)
  return {
    lookup(ip) {
      try {
        const hit = reader.get(ip)
        return {
          country: hit?.country?.names?.en ?? null,
          countryCode: hit?.country?.iso_code ?? null,
          city: hit?.city?.names?.en ?? null,
        }
      } catch {
        return NONE
      }
    },
  }
}
