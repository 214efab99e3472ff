/**
 * Milliseconds since the epoch with sub-millisecond precision, so pageviews keep their arrival
 * order: the wall clock's millisecond plus the monotonic clock's fraction. It follows the wall
 * clock when that is stepped (`performance.timeOrigin + performance.now()` keeps the offset of the
 * process start, so it drifts from real time after an NTP step). Within a millisecond the
 * fraction can wrap before `Date.now()` ticks; `monotonic()` keeps the readings in order. The
 * fraction stops at 0.999 (999 µs), so a reading never lands in the next millisecond, ahead of
 * the wall clock: near today's epoch a double steps by 0.24 µs, so a fraction within that of 1
 * made the sum itself round up (one reading in about 8,000; seen as a failure of clock.test.ts
 * in CI), and one of 0.9995 or more was rounded up by every consumer that rounds to whole
 * microseconds (`monotonic`, `isoMicros`, `uuidV7`).
 */
export const preciseNow = (): number => Date.now() + Math.min(performance.now() % 1, 0.999)

/** ISO-8601 with microseconds (PostgreSQL keeps microseconds; `Date#toISOString` stops at milliseconds). */
export function isoMicros(ms: number): string {
  // Whole microseconds first, then integer arithmetic: `(ms - whole) * 1000` can lose the last
  // microsecond to floating point at today's epoch, and two ticks would print the same.
  const us = Math.round(ms * 1000)
  const whole = Math.floor(us / 1000)
  const micros = us - whole * 1000
  return `${new Date(whole).toISOString().slice(0, -1)}${String(micros).padStart(3, '0')}Z`
}

/**
 * A clock that never repeats or goes back at the microsecond precision PostgreSQL stores: readings
 * are rounded to whole microseconds, and one that does not advance is nudged one microsecond on.
 */
export function monotonic(now: () => number): () => number {
  let last = Number.NEGATIVE_INFINITY
  return () => {
    const us = Math.max(Math.round(now() * 1000), last + 1)
    last = us
    return us / 1000
  }
}
