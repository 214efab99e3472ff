import { getHeapStatistics } from 'node:v8'
import { AppError, CommonErrors } from '@bio/contracts'
import underPressure from '@fastify/under-pressure'
import fp from 'fastify-plugin'

export interface OverloadOptions {
  /** Shed when the event loop lags more than this (ms); 0 disables. */
  maxEventLoopDelayMs: number
  /** Shed when the V8 heap in use passes this (MB); 0 means 90% of the heap limit. */
  maxHeapUsedMb: number
}

const PROBES = new Set(['/healthz', '/readyz'])

/**
 * Load shedding with @fastify/under-pressure: past the event-loop-delay or heap threshold every
 * request is answered at once with 503 SERVICE_UNAVAILABLE and `retry-after`, in the envelope,
 * until the process recovers. Health probes are exempt so orchestrators see the truth.
 */
export const overloadProtection = fp<OverloadOptions>(
  async (app, { maxEventLoopDelayMs, maxHeapUsedMb }) => {
    const heapLimit = getHeapStatistics().heap_size_limit
    await app.register(underPressure, {
      maxEventLoopDelay: maxEventLoopDelayMs,
      maxHeapUsedBytes: maxHeapUsedMb > 0 ? maxHeapUsedMb * 1024 * 1024 : Math.floor(heapLimit * 0.9),
      sampleInterval: 250,
      // Async, so under-pressure passes the rejection to Fastify's error handler (the envelope).
      pressureHandler: async (req, _reply, type) => {
        // By path: a probe with a query string (`/readyz?lb=1`) was shed, so under pressure the
        // orchestrator saw a dead instance instead of the truth.
        if (PROBES.has(req.url.split('?', 1)[0]!)) return
        req.log.warn({ type }, 'shedding load')
        throw new AppError(CommonErrors.SERVICE_UNAVAILABLE, { headers: { 'retry-after': '5' } })
      },
    })
  },
  { name: 'overload-protection', fastify: '5.x' },
)
