import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js'

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** A TCP proxy in front of the PostgreSQL that `databaseUrl` names (see startTcpProxy). */
export function proxyDatabase(databaseUrl: string): Promise<TcpProxy> {
  const target = new URL(databaseUrl)
  return startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) })
}

/** The env of an app whose pool meets an outage: small pool, short connect and statement timeouts. */
export function outageEnv(
  timeouts: { connectTimeoutS: number; statementTimeoutMs: number },
  env: Record<string, string> = {},
): Record<string, string> {
  return {
    RATE_LIMIT_ENABLED: 'false',
    DB_CONNECT_TIMEOUT_S: String(timeouts.connectTimeoutS),
    DB_STATEMENT_TIMEOUT_MS: String(timeouts.statementTimeoutMs),
    DB_POOL_MAX: '4',
    ...env,
  }
}

/** One request sent during a traffic run, and how long its answer took. */
export interface Sample {
  op: string
  startedAt: number
  ms: number
  res: LightMyRequestResponse
}

/** `timed(op, send)` sends a request and records it, with its duration, in `samples`. */
export function sampler() {
  const samples: Sample[] = []
  const timed = async (op: string, send: () => Promise<LightMyRequestResponse>) => {
    const startedAt = Date.now()
    const res = await send()
    samples.push({ op, startedAt, ms: Date.now() - startedAt, res })
    return res
  }
  return { samples, timed }
}

/** Polls /readyz until it answers 200; returns how long that took. */
export async function waitUntilReady(
  target: Pick<FastifyInstance, 'inject'>,
  timeoutMs = 5000,
): Promise<number> {
  const started = Date.now()
  for (;;) {
    const res = await target.inject({ method: 'GET', url: '/readyz' })
    if (res.statusCode === 200) return Date.now() - started
    if (Date.now() - started > timeoutMs) throw new Error(`not ready after ${timeoutMs} ms: ${res.body}`)
    await sleep(50)
  }
}
