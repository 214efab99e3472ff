import { isbot } from 'isbot'
import UAParser from 'ua-parser-js'

export interface ClientHints {
  device?: string
  browser?: string
  os?: string
  osVersion?: string
}

export interface DeviceInfo {
  device: string | null
  browser: string | null
  os: string | null
  osVersion: string | null
}

interface Classified {
  bot: boolean
  /** What the User-Agent alone says; `undefined` where it says nothing. */
  parsed: { device?: string; browser?: string; os?: string; osVersion?: string }
}

const CACHE_SIZE = 2000
const MAX_UA_LENGTH = 512
const cache = new Map<string, Classified>()

/**
 * Classifies a User-Agent once: `isbot` (a maintained list of crawlers, previews, monitors, HTTP
 * libraries and headless browsers; Unlicense) and ua-parser-js 1.x (MIT; 2.x is AGPL). Both are
 * regex-heavy and real traffic repeats a few thousand User-Agents, so results are kept in a small
 * LRU keyed by the UA (long ones are not cached).
 */
function classify(ua: string): Classified {
  const hit = cache.get(ua)
  if (hit) {
    cache.delete(ua)
    cache.set(ua, hit)
    return hit
  }
  const result = new UAParser(ua).getResult()
  const type = result.device.type
  const anythingParsed = Boolean(result.browser.name || result.os.name || type)
  const classified: Classified = {
    bot: isbot(ua),
    parsed: {
      device: type === 'mobile' || type === 'tablet' ? type : anythingParsed ? 'desktop' : undefined,
      browser: result.browser.name,
      os: result.os.name,
      osVersion: result.os.name ? (result.os.version ?? '') : undefined,
    },
  }
  if (ua.length <= MAX_UA_LENGTH) {
    if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value as string)
    cache.set(ua, classified)
  }
  return classified
}

/** Bot filter. An empty or missing User-Agent counts as a bot. */
export const isBotUserAgent = (ua: string | undefined): boolean => !ua?.trim() || classify(ua).bot

/**
 * Device, browser and OS: each value the User-Agent gives replaces the client's hint; a hint is
 * kept only where the UA says nothing. The device is `mobile` or `tablet` when the UA says so,
 * `desktop` whenever anything else was parsed.
 */
export function deviceInfo(ua: string | undefined, hints: ClientHints): DeviceInfo {
  const { parsed } = classify(ua ?? '')
  return {
    device: parsed.device ?? hints.device ?? null,
    browser: parsed.browser ?? hints.browser ?? null,
    os: parsed.os ?? hints.os ?? null,
    osVersion: parsed.osVersion === undefined ? (hints.osVersion ?? null) : parsed.osVersion || null,
  }
}
