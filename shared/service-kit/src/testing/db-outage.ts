import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { afterAll, beforeAll } from 'vitest'
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

/** An app whose pool reaches the test database through a proxy the test can stop, start and blackhole. */
export interface ProxiedApps<App> {
  readonly proxy: TcpProxy
  /** The file's app over the proxy, built in beforeAll. */
  readonly app: App
  /** Another app over the proxy (the test closes it). */
  build(env?: Record<string, string>): Promise<App>
}

/**
 * Registers beforeAll (a proxy in front of `databaseUrl()`'s server, and an app built over it by
 * `build(proxiedUrl, env)`) and afterAll (closes both). Call it after the file's harness, so the
 * database exists by then.
 */
export function useProxiedApps<App extends { close(): PromiseLike<unknown> }>(
  databaseUrl: () => string,
  build: (proxiedUrl: string, env: Record<string, string>) => Promise<App>,
): ProxiedApps<App> {
  let proxy: TcpProxy | undefined
  let app: App | undefined
  const current = () => {
    if (!proxy) throw new Error('the proxy is read before its beforeAll has run')
    return proxy
  }
  const handle: ProxiedApps<App> = {
    get proxy() {
      return current()
    },
    get app() {
      if (!app) throw new Error('the proxied app is read before its beforeAll has run')
      return app
    },
    build: (env = {}) => build(current().url(databaseUrl()), env),
  }
  beforeAll(async () => {
    proxy = await proxyDatabase(databaseUrl())
    app = await handle.build()
  })
  afterAll(async () => {
    await app?.close()
    await proxy?.close()
  })
  return handle
}
