import type { FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'

declare module 'fastify' {
  interface FastifyInstance {
    /** This app's Prometheus registry; services add their own collectors to it. */
    metrics: Registry
  }
}

export interface MetricsOptions {
  service: string
  /** Extra gauges read at scrape time, e.g. ingest queue figures: name → { help, read }. */
  gauges?: Record<
    string,
    { help: string; labelNames?: string[]; read: () => Array<[Record<string, string>, number]> }
  >
}

/**
 * Prometheus metrics at GET /metrics: request count and latency per route and status, rate-limit
 * rejections, process/event-loop defaults (the event-loop delay percentiles reset at each scrape),
 * plus whatever the service adds. One registry per app, so tests can build many apps.
 */
export const metricsPlugin = fp<MetricsOptions>(
  async (app, { service, gauges = {} }) => {
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
      if (route !== '/metrics') {
        const labels = { method: req.method, route, status: String(reply.statusCode) }
        requests.inc(labels)
        duration.observe(labels, reply.elapsedTime / 1000)
        if (reply.statusCode === 429) limited.inc({ route })
      }
      done()
    })
    app.get('/metrics', { schema: { hide: true } }, async (_req, reply) => {
      reply.type(registry.contentType)
      return registry.metrics()
    })
  },
  { name: 'metrics', fastify: '5.x' },
)
