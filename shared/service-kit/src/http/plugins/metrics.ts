import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'

declare module 'fastify' {
  interface FastifyInstance {
    /** This app's Prometheus registry; services add their own collectors to it. */
    metrics: Registry
    /**
     * Starts the metrics listener when one is configured (`METRICS_PORT`) and resolves to its
     * address, or to null when none is. The entry point calls it once the API listens; it is
     * closed with the app.
     */
    listenMetrics(): Promise<AddressInfo | null>
  }
}

export interface MetricsOptions {
  service: string
  /** The metrics listener's address; undefined serves no metrics over HTTP. */
  listen?: { port: number; host: string } | undefined
  /** Extra gauges read at scrape time, e.g. ingest queue figures: name → { help, read }. */
  gauges?: Record<
    string,
    { help: string; labelNames?: string[]; read: () => Array<[Record<string, string>, number]> }
  >
}

/**
 * Prometheus metrics: request count and latency per route and status, rate-limit rejections,
 * process/event-loop defaults (the event-loop delay percentiles reset at each scrape), plus
 * whatever the service adds. One registry per app, so tests can build many apps. They are served
 * as GET /metrics on a listener of their own (`METRICS_HOST:METRICS_PORT`), never on the API
 * port: they show sign-up and failed-login counts, which are not for the public.
 */
export const metricsPlugin = fp<MetricsOptions>(
  async (app, { service, listen, gauges = {} }) => {
    const registry = new Registry()
    registry.setDefaultLabels({ service })
    collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 10 })
    const duration = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'Request latency by route and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    })
    const requests = new Counter({
      name: 'http_requests_total',
      help: 'Requests by route and status',
      labelNames: ['method', 'route', 'status'],
      registers: [registry],
    })
    const limited = new Counter({
      name: 'http_rate_limited_total',
      help: 'Requests rejected by a rate limit',
      labelNames: ['route'],
      registers: [registry],
    })
    for (const [name, gauge] of Object.entries(gauges)) {
      new Gauge({
        name,
        help: gauge.help,
        labelNames: gauge.labelNames ?? [],
        registers: [registry],
        collect() {
          for (const [labels, value] of gauge.read()) this.set(labels, value)
        },
      })
    }
    app.decorate('metrics', registry)
    app.addHook('onResponse', (req: FastifyRequest, reply: FastifyReply, done: () => void) => {
      const route = req.routeOptions.url ?? 'unmatched'
      const labels = { method: req.method, route, status: String(reply.statusCode) }
      requests.inc(labels)
      duration.observe(labels, reply.elapsedTime / 1000)
      if (reply.statusCode === 429) limited.inc({ route })
      done()
    })

    let server: Server | undefined
    app.decorate('listenMetrics', async () => {
      if (!listen) return null
      if (!server) {
        server = metricsServer(registry)
        server.listen(listen.port, listen.host)
        await once(server, 'listening')
      }
      return server.address() as AddressInfo
    })
    app.addHook('onClose', async () => {
      if (!server?.listening) return
      server.closeAllConnections()
      await new Promise((resolve) => server?.close(resolve))
    })
  },
  { name: 'metrics', fastify: '5.x' },
)

/** A bare HTTP server with one route, GET (or HEAD) /metrics. */
function metricsServer(registry: Registry): Server {
  const server = createServer({ requestTimeout: 10_000, headersTimeout: 5_000 }, (req, res) => {
    res.setHeader('x-content-type-options', 'nosniff')
    res.setHeader('cache-control', 'no-store')
    const path = req.url?.split('?', 1)[0]
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n')
      return
    }
    registry.metrics().then(
      (text) => {
        res.writeHead(200, { 'content-type': registry.contentType })
        res.end(req.method === 'HEAD' ? undefined : text)
      },
      () => res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('metrics failed\n'),
    )
  })
  server.keepAliveTimeout = 5_000
  return server
}
