import { type ChildProcessByStdio, execFileSync, spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { createServer } from 'node:net'
import type { Readable } from 'node:stream'
import { fileURLToPath } from 'node:url'

/** Starting the built servers (`services/<svc>/dist/server.js`) as real processes, for tests. */

export const root = fileURLToPath(new URL('../..', import.meta.url))

/** `npm test` builds first; a direct `vitest run` gets an up-to-date build (a no-op when fresh). */
export function buildServices(): void {
  execFileSync(`${root}node_modules/.bin/tsc`, ['-b', 'services/auth', 'services/analytics'], {
    cwd: root,
    stdio: 'inherit',
  })
}

/** A TCP port that was free a moment ago (the kernel picks it), for servers restarted on one port. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

export interface BuiltServer {
  base: string
  child: ChildProcessByStdio<null, Readable, Readable>
  /** SIGTERM, then resolves with the exit code once the process is gone. */
  stop(): Promise<number | null>
}

/**
 * Starts a built service with exactly `env` (plus PATH) and resolves once `/readyz` answers 200,
 * so a caller never races the listen or the migrations. Rejects if the process exits first.
 */
export async function startBuiltServer(
  service: 'auth' | 'analytics',
  port: number,
  env: Record<string, string>,
): Promise<BuiltServer> {
  const portVar = service === 'auth' ? 'AUTH_PORT' : 'ANALYTICS_PORT'
  const child = spawn(process.execPath, [`services/${service}/dist/server.js`], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', [portVar]: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const output: string[] = []
  child.stdout.on('data', (c: Buffer) => output.push(c.toString()))
  child.stderr.on('data', (c: Buffer) => output.push(c.toString()))
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  let gone = false
  void exited.then(() => {
    gone = true
  })
  const base = `http://127.0.0.1:${port}`
  // Poll readiness; each attempt is one request, and the loop ends on success or on exit.
  for (;;) {
    if (gone) throw new Error(`${service} exited before it was ready:\n${output.join('')}`)
    const ready = await fetch(`${base}/readyz`).then(
      (r) => r.status === 200,
      () => false,
    )
    if (ready) break
    await new Promise((r) => setTimeout(r, 20))
  }
  return {
    base,
    child,
    stop() {
      if (!gone) child.kill('SIGTERM')
      return exited
    },
  }
}

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
