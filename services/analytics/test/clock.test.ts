import { describe, expect, it } from 'vitest'
import { monotonic, preciseNow } from '../src/lib/clock.js'

describe('the ingest clock', () => {
  it('reads the wall clock (to the millisecond), with a sub-millisecond fraction', () => {
    for (let i = 0; i < 1000; i++) {
      const before = Date.now()
      const t = preciseNow()
      const after = Date.now()
      expect(Math.floor(t)).toBeGreaterThanOrEqual(before)
      expect(Math.floor(t)).toBeLessThanOrEqual(after)
    }
  })

  it('never rounds up into the next millisecond, whatever the monotonic fraction', () => {
    const realNow = performance.now
    const wall = Date.now
    try {
      // Fractions a double at today's epoch cannot add without rounding up to the next integer.
      for (const fraction of [0.9999, 0.99995, 0.9999999, 0.999]) {
        performance.now = () => 1234 + fraction
        Date.now = () => 1_796_184_323_242
        expect(Math.floor(preciseNow())).toBe(1_796_184_323_242)
      }
    } finally {
      performance.now = realNow
      Date.now = wall
    }
  })

  it('through monotonic(), never repeats or goes back, also when the source does', () => {
    const source = [1000.9, 1000.1, 1000.1, 999, 1001.2]
    const next = monotonic(() => source.shift()!)
    expect([next(), next(), next(), next(), next()]).toEqual([1000.9, 1000.901, 1000.902, 1000.903, 1001.2])
  })
})
