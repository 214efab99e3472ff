import { jwksUrlProblem } from './jwks-url.js'
import { fromJwk, type VerificationKey } from './keys.js'

export interface JwksCacheOptions {
  /** `https:`, or `http:` to a loopback host (127.0.0.0/8, ::1, localhost). */
  url: string
  /** Also accept `http:` to any host: development only, a tampered fetch can forge every token. */
  allowInsecureHttp?: boolean
  /** Epoch milliseconds; tests inject a clock. */
  now?: () => number
  /** The HTTP client; tests inject one that counts. */
  fetch?: typeof globalThis.fetch
  /** At most one fetch in this window, whatever the tokens say (default 30 s). */
  minRefetchIntervalMs?: number
  /** Keys older than this are refreshed in the background (default 600 s, auth's max-age). */
  maxAgeMs?: number
  timeoutMs?: number
  /** Told about every failed fetch (the cached keys stay in use). */
  onError?: (error: unknown) => void
}

export interface JwksCache {
  /** The cached key of `kid`; fetches once when it is unknown and the last fetch is old enough. */
  find(kid: string): Promise<VerificationKey | undefined>
  /** Fetches now unless a fetch is under way (then waits for it) or the last one is too recent. */
  refresh(): Promise<void>
  /** Resolves after the first fetch (successful or not). */
  ready(): Promise<void>
  /** How many fetches were started. */
  readonly fetches: number
}

/**
 * The keys of a JWKS URL, fetched at start and kept: refetched when a token names an unknown kid
 * (at most once per `minRefetchIntervalMs`, so a flood of invented kids cannot reach the issuer)
 * and in the background once they are `maxAgeMs` old. A failed fetch keeps the keys it had.
 */
export function createJwksCache(options: JwksCacheOptions): JwksCache {
  const problem = jwksUrlProblem(options.url, options)
  if (problem) throw new TypeError(`JWKS URL ${problem}`)
  const now = options.now ?? Date.now
  const fetchJwks = options.fetch ?? globalThis.fetch
  const minInterval = options.minRefetchIntervalMs ?? 30_000
  const maxAge = options.maxAgeMs ?? 600_000
  const timeoutMs = options.timeoutMs ?? 5_000
  let keys = new Map<string, VerificationKey>()
  let loadedAt = Number.NEGATIVE_INFINITY
  let lastFetchAt = Number.NEGATIVE_INFINITY
  let inFlight: Promise<void> | undefined
  let fetches = 0

  async function load(): Promise<void> {
    const res = await fetchJwks(options.url, {
      headers: { accept: 'application/json' },
      signal: AbortSignal.timeout(timeoutMs),
      redirect: 'error',
    })
    if (!res.ok) throw new Error(`JWKS fetch answered ${res.status}`)
    const body = (await res.json()) as { keys?: unknown }
    if (!Array.isArray(body.keys)) throw new Error('JWKS has no keys array')
    const next = new Map<string, VerificationKey>()
    for (const jwk of body.keys) {
      const key = fromJwk(jwk)
      if (key) next.set(key.kid, key)
    }
    keys = next
    loadedAt = now()
  }

  function refresh(): Promise<void> {
    if (inFlight) return inFlight
    if (now() - lastFetchAt < minInterval) return Promise.resolve()
    lastFetchAt = now()
    fetches += 1
    inFlight = load()
      .catch((err: unknown) => options.onError?.(err))
      .finally(() => {
        inFlight = undefined
      })
    return inFlight
  }

  const first = refresh()
  return {
    async find(kid) {
      const known = keys.get(kid)
      if (known) {
        if (now() - loadedAt >= maxAge) void refresh()
        return known
      }
      await refresh()
      return keys.get(kid)
    },
    refresh,
    ready: () => first,
    get fetches() {
      return fetches
    },
  }
}
