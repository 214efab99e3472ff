import type { FastifyInstance } from 'fastify'
import { ConfigError } from '../config/load-env.js'

export interface Served {
  app: FastifyInstance
  port: number
  host: string
  shutdownTimeoutMs: number
}

/**
 * Entry-point glue shared by every service: builds the app, listens, and on SIGTERM/SIGINT stops
 * accepting, lets in-flight requests finish, runs every onClose hook (flushes, pools) and exits 0;
 * a shutdown that overruns its budget exits 1. A configuration error prints and exits 1.
 */
export async function serve(build: () => Promise<Served>): Promise<void> {
  let served: Served
  try {
    served = await build()
    await served.app.ready()
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`)
      process.exit(1)
    }
    throw err
  }
  const { app, port, host, shutdownTimeoutMs } = served
  let closing = false
  const shutdown = (signal: string) => {
    if (closing) return
    closing = true
    app.log.info({ signal }, 'shutting down')
    const timer = setTimeout(() => {
      app.log.error('shutdown timed out')
      process.exit(1)
    }, shutdownTimeoutMs)
    timer.unref()
    app.close().then(
      () => process.exit(0),
      (err) => {
        app.log.error({ err }, 'shutdown failed')
        process.exit(1)
      },
    )
  }
  process.once('SIGTERM', () => shutdown('SIGTERM'))
  process.once('SIGINT', () => shutdown('SIGINT'))
  await app.listen({ port, host })
  const metrics = await app.listenMetrics()
  if (metrics) app.log.info({ address: `${metrics.address}:${metrics.port}` }, 'metrics listening')
}
