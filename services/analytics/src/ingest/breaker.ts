import { EventEmitter } from 'node:events'
import { AppError, CommonErrors } from '@bio/contracts'

export interface BreakerOptions {
  /** A cheap round trip to the database (`select 1`); resolves when it answered. */
  probe: () => Promise<void>
  /** How long after opening, and then between probes, the database is tried again. */
  probeIntervalMs: number
}

/**
 * The write path's view of the database: closed (writes go through) or open (the database is
 * known to be unavailable, so writes are answered 503 at once instead of each one waiting out a
 * connect timeout). A transient write failure opens it; while open, a probe runs every
 * `probeIntervalMs` and the first one that succeeds closes it, as does any write that commits.
 * Emits `open`, `close` and `probed` (after each probe), which the batchers and tests wait on
 * instead of sleeping.
 */
export class Breaker extends EventEmitter<{ open: []; close: []; probed: [up: boolean] }> {
  #open = false
  #timer: NodeJS.Timeout | undefined
  #probing = false
  #stopped = false
  opened = 0

  constructor(private readonly options: BreakerOptions) {
    super()
    // Every batcher lane listens for `open`: 5 kinds of write × up to 16 lanes.
    this.setMaxListeners(0)
  }

  get isOpen(): boolean {
    return this.#open
  }

  /** The 503 a write gets while the database is unavailable; Retry-After is the probe interval. */
  unavailable(cause?: unknown): AppError {
    const seconds = Math.max(1, Math.ceil(this.options.probeIntervalMs / 1000))
    return new AppError(CommonErrors.SERVICE_UNAVAILABLE, {
      headers: { 'retry-after': String(seconds) },
      cause,
    })
  }

  /** A write failed because the database was unavailable. */
  trip(): void {
    if (this.#open || this.#stopped) return
    this.#open = true
    this.opened++
    this.#scheduleProbe()
    this.emit('open')
  }

  /** A write committed, or a probe answered: the database is back. */
  reset(): void {
    if (!this.#open) return
    this.#open = false
    clearTimeout(this.#timer)
    this.#timer = undefined
    this.emit('close')
  }

  /** Stops probing (shutdown); an open breaker stays open so the last writes are answered at once. */
  stop(): void {
    this.#stopped = true
    clearTimeout(this.#timer)
    this.#timer = undefined
  }

  #scheduleProbe(): void {
    if (this.#stopped || this.#timer || this.#probing) return
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      void this.#probe()
    }, this.options.probeIntervalMs)
    this.#timer.unref()
  }

  async #probe(): Promise<void> {
    this.#probing = true
    let up = false
    try {
      await this.options.probe()
      up = true
      this.reset()
    } catch {
      // Still down: the next probe is scheduled below.
    } finally {
      this.#probing = false
      if (this.#open) this.#scheduleProbe()
    }
    this.emit('probed', up)
  }
}
