/** A clock the app reads on every call; tests set and move it. */
export interface TestClock {
  /** The current time as a Date (for apps that take `now: () => Date`). */
  now(): Date
  /** The current time in epoch milliseconds (for apps that take `now: () => number`). */
  nowMs(): number
  set(at: Date | number): void
  advance(ms: number): void
}

/** A test clock starting at `start` (default: the real time when it is made). */
export function testClock(start: Date | number = Date.now()): TestClock {
  let current = typeof start === 'number' ? start : start.getTime()
  return {
    now: () => new Date(current),
    nowMs: () => current,
    set: (at) => {
      current = typeof at === 'number' ? at : at.getTime()
    },
    advance: (ms) => {
      current += ms
    },
  }
}
