import { AppError, CommonErrors } from '@bio/contracts'
import type { FastifyBaseLogger } from 'fastify'
import type { Breaker } from './breaker.js'

export interface BatcherOptions<I, R> {
  name: string
  maxBatch: number
  maxWaitMs: number
  maxQueue: number
  /** Writes a whole batch (one transaction); resolves one result per item, in order, after commit. */
  write: (items: I[]) => Promise<R[]>
  isTransient: (err: unknown) => boolean
  log: FastifyBaseLogger
  retryDelayMs?: number
  /** Shared by every batcher over one database: open means answer 503 now, without trying. */
  breaker?: Breaker
}

export interface BatcherStats {
  batches: number
  items: number
  retries: number
  failedItems: number
  rejected: number
  /** Items answered 503 because the database was unavailable (never written). */
  unavailable: number
  queued: number
  largestBatch: number
}

export const emptyStats = (): BatcherStats => ({
  batches: 0,
  items: 0,
  retries: 0,
  failedItems: 0,
  rejected: 0,
  unavailable: 0,
  queued: 0,
  largestBatch: 0,
})

interface Pending<I, R> {
  item: I
  resolve: (result: R) => void
  reject: (err: unknown) => void
}

/**
 * Group commit. Requests that arrive together are written by one transaction and each is
 * answered only after that commit. A batch starts when `maxBatch` items wait or `maxWaitMs`
 * after the first, and while one is being written the next one fills up, so batches grow with
 * load. One batch is in flight at a time, which keeps arrival order (the pageview back-fill
 * depends on it). A write that cannot be committed is answered 503 with Retry-After: nothing
 * was written, and the client retries the same request. A transient failure (the database is
 * unavailable) opens the breaker and is retried once; while the breaker is open, queued and new
 * items are answered 503 at once. A batch that fails for another reason is split so one poison
 * item cannot take its neighbours down. When `maxQueue` items wait, new ones get 503 too.
 */
export class Batcher<I, R> {
  readonly stats: BatcherStats = emptyStats()
  #queue: Pending<I, R>[] = []
  #timer: NodeJS.Timeout | undefined
  #draining: Promise<void> | undefined

  constructor(private readonly options: BatcherOptions<I, R>) {
    options.breaker?.on('open', () => this.#rejectQueued())
  }

  submit(item: I): Promise<R> {
    const { breaker } = this.options
    if (breaker?.isOpen) {
      this.stats.unavailable++
      return Promise.reject(breaker.unavailable())
    }
    if (this.#queue.length >= this.options.maxQueue) {
      this.stats.rejected++
      return Promise.reject(unavailable(undefined))
    }
    return new Promise<R>((resolve, reject) => {
      this.#queue.push({ item, resolve, reject })
      this.stats.queued = this.#queue.length
      this.#schedule()
    })
  }

  /** Writes everything still queued; resolves when the queue is empty and nothing is in flight. */
  async close(): Promise<void> {
    // Loops, so items submitted while the last batch was being written are flushed too.
    while (this.#queue.length > 0 || this.#draining) {
      this.#kick()
      if (this.#draining) await this.#draining
    }
  }

  /** The database is down: everything still waiting is answered 503 now (the batch in flight keeps its retry). */
  #rejectQueued(): void {
    const waiting = this.#queue.splice(0)
    this.stats.queued = 0
    this.#fail(waiting)
  }

  #fail(items: Pending<I, R>[], cause?: unknown): void {
    if (items.length === 0) return
    this.stats.unavailable += items.length
    const err = this.options.breaker?.unavailable(cause) ?? unavailable(cause)
    for (const p of items) p.reject(err)
  }

  #schedule(): void {
    if (this.#draining) return
    if (this.#queue.length >= this.options.maxBatch || this.options.maxWaitMs === 0) this.#kick()
    else this.#timer ??= setTimeout(() => this.#kick(), this.options.maxWaitMs)
  }

  #kick(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
    if (this.#draining || this.#queue.length === 0) return
    this.#draining = this.#drain().finally(() => {
      this.#draining = undefined
      // An item submitted after the loop's last look at the queue (e.g. by code that resumed when
      // the batch's results resolved) saw #draining still set and did not schedule itself.
      if (this.#queue.length > 0) this.#schedule()
    })
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, this.options.maxBatch)
      this.stats.queued = this.#queue.length
      await this.#flush(batch)
    }
  }

  async #flush(batch: Pending<I, R>[]): Promise<void> {
    const { stats } = this
    stats.batches++
    stats.items += batch.length
    stats.largestBatch = Math.max(stats.largestBatch, batch.length)
    try {
      const results = await this.#writeWithRetry(batch.map((p) => p.item))
      this.options.breaker?.reset()
      for (const [i, p] of batch.entries()) p.resolve(results[i] as R)
    } catch (err) {
      if (batch.length > 1 && !this.options.isTransient(err)) {
        this.options.log.warn(
          { err, batcher: this.options.name },
          'batch failed; writing its items one by one',
        )
        for (const p of batch) await this.#flush([p])
        return
      }
      stats.failedItems += batch.length
      this.options.log.error(
        { err, batcher: this.options.name, size: batch.length },
        'batch write failed; answering 503',
      )
      this.#fail(batch, err)
    }
  }

  async #writeWithRetry(items: I[]): Promise<R[]> {
    try {
      return await this.options.write(items)
    } catch (err) {
      if (!this.options.isTransient(err)) throw err
      this.options.breaker?.trip()
      this.stats.retries++
      await new Promise((r) => setTimeout(r, this.options.retryDelayMs ?? 200))
      return await this.options.write(items)
    }
  }
}

const unavailable = (cause: unknown) =>
  new AppError(CommonErrors.SERVICE_UNAVAILABLE, { headers: { 'retry-after': '1' }, cause })
