import { randomFillSync } from 'node:crypto'

/**
 * UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, the version nibble 7, the variant bits 10, and
 * 74 random bits. Ids sort by time, so the primary key grows at its right edge, and the time a
 * row belongs to can be read back from its id (partition routing, the client-chosen event time).
 */

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))
/** The largest millisecond timestamp 48 bits hold (year 10889). */
const MAX_MS = 2 ** 48 - 1

/** How far back and forward a client-chosen id's time may lie to be taken as the event's time. */
export interface IdWindow {
  maxAgeMs: number
  maxSkewMs: number
}
export const CLIENT_ID_WINDOW: IdWindow = { maxAgeMs: 24 * 60 * 60 * 1000, maxSkewMs: 60 * 1000 }

/** A new UUIDv7 for the Unix time `ms` (fraction dropped); `random` fills the 10 random bytes. */
export function uuidV7(ms: number, random: (bytes: Uint8Array) => void = randomFillSync): string {
  const whole = Math.floor(ms)
  if (!(whole >= 0 && whole <= MAX_MS)) throw new RangeError(`uuidV7: time out of range: ${ms}`)
  const b = new Uint8Array(16)
  random(b.subarray(6))
  // 48-bit big-endian milliseconds; the high 16 bits through division (bitwise ops are 32-bit).
  const high = Math.floor(whole / 2 ** 32)
  const low = whole >>> 0
  b[0] = high >>> 8
  b[1] = high & 0xff
  b[2] = low >>> 24
  b[3] = (low >>> 16) & 0xff
  b[4] = (low >>> 8) & 0xff
  b[5] = low & 0xff
  b[6] = 0x70 | (b[6]! & 0x0f)
  b[8] = 0x80 | (b[8]! & 0x3f)
  let s = ''
  for (let i = 0; i < 16; i++) s += (i === 4 || i === 6 || i === 8 || i === 10 ? '-' : '') + HEX[b[i]!]
  return s
}

/** True for a UUID in canonical form with version 7 and the RFC variant. */
export const isUuidV7 = (id: string): boolean => V7.test(id)

/** The Unix milliseconds a UUIDv7 carries; `undefined` for anything that is not one. */
export function uuidV7Time(id: string): number | undefined {
  if (!isUuidV7(id)) return undefined
  return Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16)
}

/**
 * The time of a client-chosen id when it is a UUIDv7 whose time lies within `window` of `now`
 * (not older than `maxAgeMs`, not ahead by more than `maxSkewMs`); `undefined` otherwise.
 */
export function timeWithinWindow(
  id: string,
  now: number,
  window: IdWindow = CLIENT_ID_WINDOW,
): number | undefined {
  const at = uuidV7Time(id)
  if (at === undefined) return undefined
  return at >= now - window.maxAgeMs && at <= now + window.maxSkewMs ? at : undefined
}

/**
 * The id and event time of a new row: the client's id and the time in it when it passes
 * `timeWithinWindow`, else a fresh UUIDv7 made at `now` (a bad client id is replaced, not refused).
 */
export function chooseRowId(
  clientId: string | undefined,
  now: number,
  window?: IdWindow,
): { id: string; at: number } {
  if (clientId !== undefined) {
    const at = timeWithinWindow(clientId, now, window)
    if (at !== undefined) return { id: clientId.toLowerCase(), at }
  }
  return { id: uuidV7(now), at: now }
}
