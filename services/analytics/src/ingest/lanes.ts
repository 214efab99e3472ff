import { Batcher, type BatcherOptions, type BatcherStats, emptyStats } from './batcher.js'

/** A stable lane for a key: FNV-1a over the string, so one session always lands in one lane. */
function laneOf(key: string, lanes: number): number {
  let h = 0x811c9dc5
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193)
  return (h >>> 0) % lanes
}

/**
 * Several batchers side by side, so one batch can be written while the next is committed. Items
 * with the same key (a session, a pageview) always share a lane, which keeps their order; lanes
 * never touch the same rows, so they cannot deadlock on each other.
 */
export class LanedBatcher<I, R> {
  readonly #lanes: Batcher<I, R>[]

  constructor(
    lanes: number,
    options: BatcherOptions<I, R>,
    private readonly keyOf: (item: I) => string,
  ) {
    this.#lanes = Array.from(
      { length: lanes },
      (_, i) => new Batcher({ ...options, name: `${options.name}#${i}` }),
    )
  }

  submit(item: I): Promise<R> {
    return this.#lanes[laneOf(this.keyOf(item), this.#lanes.length)]!.submit(item)
  }

  async close(): Promise<void> {
    await Promise.all(this.#lanes.map((lane) => lane.close()))
  }

  /** Sums over lanes (the largest batch is the largest of any lane). */
  get stats(): BatcherStats {
    const total = emptyStats()
    for (const { stats } of this.#lanes) {
      for (const key of Object.keys(total) as (keyof BatcherStats)[]) {
        total[key] = key === 'largestBatch' ? Math.max(total[key], stats[key]) : total[key] + stats[key]
      }
    }
    return total
  }
}
