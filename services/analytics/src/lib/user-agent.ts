import { isbot } from 'isbot'
import UAParser from 'ua-parser-js'

/**
 * Bot filter: `isbot` keeps a maintained pattern list of crawlers, previews, monitors, HTTP
 * libraries and headless browsers (Unlicense). An empty or missing User-Agent counts as a bot.
 */
export const isBotUserAgent = (ua: string | undefined): boolean => !ua?.trim() || isbot(ua)

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

/**
 * Device, browser and OS from the User-Agent (ua-parser-js 1.x, MIT; 2.x is AGPL). Each parsed
 * value replaces the client's hint; a hint is kept only where the UA says nothing. The device is
 * `mobile` or `tablet` when the UA says so, `desktop` whenever anything else was parsed.
 */
export function deviceInfo(ua: string | undefined, hints: ClientHints): DeviceInfo {
  const parsed = new UAParser(ua ?? '').getResult()
  const anythingParsed = Boolean(parsed.browser.name || parsed.os.name || parsed.device.type)
  const type = parsed.device.type
  const device = type === 'mobile' || type === 'tablet' ? type : anythingParsed ? 'desktop' : null
  return {
    device: device ?? hints.device ?? null,
    browser: parsed.browser.name ?? hints.browser ?? null,
    os: parsed.os.name ?? hints.os ?? null,
    osVersion: parsed.os.name ? (parsed.os.version ?? null) : (hints.osVersion ?? null),
  }
}
