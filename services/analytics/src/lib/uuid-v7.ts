import { randomFillSync } from 'node:crypto'
import { isoMicros } from './clock.js'

/**
 * UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, the version nibble 7, 12 bits `rand_a`, the
 * variant bits 10, and 62 random bits. Ids this service makes put the time's fraction of a
 * millisecond, in whole microseconds, into `rand_a` (the RFC's "increased clock precision",
 * method 3), so the exact time a row belongs to can be read back from its id: `uuidV7Instant`.
 * A row's time is that instant for every UUIDv7, a client's too (its `rand_a` read the same way),
 * so the same id always means the same `entered_at`, and the same partition. Ids sort by time,
 * so the primary key grows at its right edge.
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

/** `rand_a` steps per millisecond; a microsecond is 4.096 steps. */
const SUB_MS_STEPS = 4096

/**
 * A new UUIDv7 for the Unix time `ms`, its fraction of a millisecond (rounded to whole
 * microseconds) in `rand_a`; `random` fills the random bytes.
 */
export function uuidV7(ms: number, random: (bytes: Uint8Array) => void = randomFillSync): string {
  // Whole microseconds first (see isoMicros): `(ms - whole) * 1000` loses one to floating point.
  const us = Math.round(ms * 1000)
  const whole = Math.floor(us / 1000)
  if (!(whole >= 0 && whole <= MAX_MS)) throw new RangeError(`uuidV7: time out of range: ${ms}`)
  // The smallest step count that reads back as this microsecond (at most 4092 for 999 µs).
  const subMs = Math.ceil(((us - whole * 1000) * SUB_MS_STEPS) / 1000)
  const b = new Uint8Array(16)
  random(b.subarray(6))
  b[7] = subMs & 0xff
  // 48-bit big-endian milliseconds; the high 16 bits through division (bitwise ops are 32-bit).
  const high = Math.floor(whole / 2 ** 32)
  const low = whole >>> 0
  b[0] = high >>> 8
  b[1] = high & 0xff
  b[2] = low >>> 24
  b[3] = (low >>> 16) & 0xff
  b[4] = (low >>> 8) & 0xff
  b[5] = low & 0xff
  b[6] = 0x70 | (subMs >>> 8)
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
 * The instant a UUIDv7 stands for, in epoch milliseconds with whole microseconds: its millisecond
 * plus the microseconds its `rand_a` holds; `undefined` for anything that is not one.
 */
export function uuidV7Instant(id: string): number | undefined {
  const ms = uuidV7Time(id)
  if (ms === undefined) return undefined
  const subMs = Number.parseInt(id.slice(15, 18), 16)
  return (ms * 1000 + Math.floor((subMs * 1000) / SUB_MS_STEPS)) / 1000
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
 * The id and event time of a new row: the client's id when its time passes `timeWithinWindow`,
 * else a fresh UUIDv7 made at `now` (a bad client id is replaced, not refused). The time is
 * always the id's instant (`uuidV7Instant`), so a row's time is a function of its id alone: a
 * copy of a write meets its first copy's key, (id, entered_at), whoever chose the id.
 */
export function chooseRowId(
  clientId: string | undefined,
  now: number,
  window?: IdWindow,
): { id: string; at: number } {
  if (clientId !== undefined) {
    if (timeWithinWindow(clientId, now, window) !== undefined) {
      const id = clientId.toLowerCase()
      return { id, at: uuidV7Instant(id)! }
    }
  }
  const id = uuidV7(now)
  return { id, at: uuidV7Instant(id)! }
}

/** How far back a row with a legacy (non-v7, from before UUIDv7 ids) id is looked for. */
export const LEGACY_ID_LOOKBACK_MS = 24 * 60 * 60 * 1000

/**
 * The `entered_at` range, `[from, to)` as ISO strings, that can hold the row with id `id`, so a
 * lookup by id reads one partition. A row's time is its UUIDv7's millisecond (a client id's time
 * exactly; a server-made id is made from the arrival time, whose fraction of a millisecond stays
 * in `entered_at`): `[ms, ms + 1 ms)`. A legacy id carries no time: its row is looked for only in
 * the last LEGACY_ID_LOOKBACK_MS before `now` (and the clock skew a client id may carry after it),
 * so a late write for an old legacy row finds nothing, as for an unknown id.
 */
export function rowTimeRange(id: string, now: number): { from: string; to: string } {
  const ms = uuidV7Time(id)
  if (ms !== undefined) return { from: isoMicros(ms), to: isoMicros(ms + 1) }
  return {
    from: isoMicros(now - LEGACY_ID_LOOKBACK_MS),
    to: isoMicros(now + CLIENT_ID_WINDOW.maxSkewMs),
  }
}
