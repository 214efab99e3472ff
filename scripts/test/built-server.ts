import { randomUUID } from 'node:crypto'

/** Test helpers for the real-process suites over a running auth service. */

export interface RegisteredOverHttp {
  userId: string
  accessToken: string
  /** The `biore_refresh` cookie's value. */
  refreshToken: string
}

/** Registers a fresh user on a running auth service; throws unless it answers 201. */
export async function registerOverHttp(authBase: string): Promise<RegisteredOverHttp> {
  const res = await fetch(`${authBase}/api/v1/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      email: `http.${randomUUID()}@example.com`,
      password: 'Correct-Horse1',
      acceptedTerms: true,
      acceptedPrivacy: true,
    }),
  })
  if (res.status !== 201) throw new Error(`register answered ${res.status}: ${await res.text()}`)
  const { data } = (await res.json()) as { data: { userId: string; accessToken: string } }
  const cookie = res.headers
    .getSetCookie()
    .map((c) => c.split(';')[0]!)
    .find((c) => c.startsWith('biore_refresh='))
  return { ...data, refreshToken: cookie?.slice('biore_refresh='.length) ?? '' }
}
