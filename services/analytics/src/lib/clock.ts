/** Milliseconds since the epoch with sub-millisecond precision, so pageviews keep their arrival order. */
export const preciseNow = (): number => performance.timeOrigin + performance.now()

/** ISO-8601 with microseconds (PostgreSQL keeps microseconds; `Date#toISOString` stops at milliseconds). */
export function isoMicros(ms: number): string {
  const whole = Math.floor(ms)
  const micros = Math.floor((ms - whole) * 1000)
  return `${new Date(whole).toISOString().slice(0, -1)}${String(micros).padStart(3, '0')}Z`
}

/** A clock that never repeats or goes back: equal readings are nudged forward by one microsecond. */
export function monotonic(now: () => number): () => number {
  let last = Number.NEGATIVE_INFINITY
  return () => {
    const t = Math.max(now(), last + 0.001)
    last = t
    return t
  }
}
