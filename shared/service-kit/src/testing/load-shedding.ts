/** What the tests read of @fastify/under-pressure's sampler (decorated on the app). */
export interface PressureSampler {
  memoryUsage(): { eventLoopDelay: number }
  isUnderPressure(): boolean
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/**
 * Keeps the event loop busy, yielding between ~300 ms slices, until under-pressure's sampler has
 * recorded a delay over `thresholdMs`; resolves to whether it did. Each slice is one event-loop
 * delay sample of ~300 ms, so the sampler's mean passes the threshold at its next tick whatever its
 * phase. Bounded by slices, not by a wall-clock window: a busy machine only makes it take longer.
 */
export async function lagUntilSampled(app: PressureSampler, thresholdMs: number): Promise<boolean> {
  for (let slice = 0; slice < 40 && app.memoryUsage().eventLoopDelay <= thresholdMs; slice++) {
    const end = Date.now() + 300
    while (Date.now() < end) {
      // busy: nothing else runs meanwhile
    }
    await new Promise((r) => setImmediate(r))
  }
  return app.memoryUsage().eventLoopDelay > thresholdMs
}

/**
 * Waits until the sampler's reading is `underPressure` (at most 400 polls of 25 ms); resolves to
 * whether it got there.
 */
export async function untilSampled(app: PressureSampler, underPressure: boolean): Promise<boolean> {
  for (let tick = 0; tick < 400 && app.isUnderPressure() !== underPressure; tick++) await sleep(25)
  return app.isUnderPressure() === underPressure
}
