import { randomBytes } from 'node:crypto'

/** The Redis that tests of cross-instance limits share (CI starts one). */
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'

/**
 * A client address no other run (or test) uses: random, in the 2001:db8::/32 documentation
 * prefix, ending in `::${host}`. Send it as x-forwarded-for to an app with TRUST_PROXY=true so
 * reruns never meet old rate-limit counters.
 */
export const freshClientIp = (host: number | string = 1) => {
  const b = randomBytes(8).toString('hex')
  return `2001:db8:${b.slice(0, 4)}:${b.slice(4, 8)}:${b.slice(8, 12)}:${b.slice(12, 16)}::${host}`
}

/** Two instances of one service (as behind a balancer), both ready. */
export async function twoReadyInstances<App extends { ready(): PromiseLike<unknown> }>(
  build: () => Promise<App>,
): Promise<[App, App]> {
  const a = await build()
  const b = await build()
  await Promise.all([a.ready(), b.ready()])
  return [a, b]
}
