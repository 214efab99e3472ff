// One autocannon run, reduced to the figures the report prints.
import autocannon from 'autocannon'

/**
 * @param {object} o
 * @param {string} o.url base URL
 * @param {number} o.connections
 * @param {number} o.duration seconds
 * @param {{ method: string, path: string, headers?: Record<string,string>, body?: string,
 *           setup?: () => { path?: string, body?: string, headers?: Record<string,string> } }} o.request
 * @param {(status: number, body: string) => void} [o.onResponse]
 * @param {number} [o.rate] requests per second offered over all connections (default: as fast as answered)
 */
export async function load({ url, connections, duration, request, onResponse, rate }) {
  const result = await autocannon({
    url,
    connections,
    duration,
    pipelining: 1,
    ...(rate ? { overallRate: rate } : {}),
    requests: [
      {
        method: request.method,
        path: request.path,
        ...(request.headers ? { headers: request.headers } : {}),
        ...(request.body ? { body: request.body } : {}),
        ...(request.setup
          ? {
              setupRequest: (req) => {
                const extra = request.setup()
                return { ...req, ...extra, headers: { ...req.headers, ...extra.headers } }
              },
            }
          : {}),
        ...(onResponse ? { onResponse: (status, body) => onResponse(status, body) } : {}),
      },
    ],
  })
  return {
    connections,
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    total: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  }
}
