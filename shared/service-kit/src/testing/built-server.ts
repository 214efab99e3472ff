import { type ChildProcessByStdio, execFileSync, spawn } from 'node:child_process'
import { createServer } from 'node:net'
import type { Readable } from 'node:stream'
import { fileURLToPath } from 'node:url'

/** The workspace root (this file is shared/service-kit/src/testing/ or shared/service-kit/dist/testing/). */
export const WORKSPACE_ROOT = fileURLToPath(new URL('../../../..', import.meta.url))

/** A TCP port on 127.0.0.1 that was free a moment ago (the kernel picks it). */
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

/** `npm test` builds first; a direct `vitest run` gets an up-to-date build (a no-op when fresh). */
export function buildServices(root = WORKSPACE_ROOT): void {
  execFileSync(`${root}node_modules/.bin/tsc`, ['-b', 'services/auth', 'services/analytics'], {
    cwd: root,
    stdio: 'inherit',
  })
}

export interface ServerLogLine {
  level: number
  msg: string
  correlationId?: string
  [key: string]: unknown
}

export interface BuiltServer {
  child: ChildProcessByStdio<null, Readable, Readable>
  /** `http://127.0.0.1:<port>`. */
  base: string
  /** Every JSON line of stdout so far. */
  logs: ServerLogLine[]
  /** Raw stdout lines that were not JSON (there must be none). */
  garbage: string[]
  stderr: string[]
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>
  /** Resolves once a log line matches (event-driven); rejects if the server exits first or after `timeoutMs`. */
  waitFor(predicate: (line: ServerLogLine) => boolean, what: string, timeoutMs?: number): Promise<void>
  /** SIGTERM (unless it is gone already), then resolves with its exit. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>
}

export interface StartBuiltServerOptions {
  /** Exactly the environment the server gets (plus PATH, and HOST and the port with `port`). */
  env: Record<string, string>
  /** Listen here and wait for `/readyz` to answer 200; without it, wait for the "listening" log line (LOG_LEVEL info). */
  port?: number
  root?: string
  /** Gives up (and kills the process) when it is not ready by then. */
  readyTimeoutMs?: number
}

const PORT_VARIABLE = { auth: 'AUTH_PORT', analytics: 'ANALYTICS_PORT' } as const

/**
 * Starts `node services/<service>/dist/server.js` (the built server, what production runs) and
 * resolves once it is ready, so a caller never races the listen or the migrations. Rejects, with
 * the server's output, if it exits first or is not ready within `readyTimeoutMs`.
 */
export async function startBuiltServer(
  service: 'auth' | 'analytics',
  { env, port, root = WORKSPACE_ROOT, readyTimeoutMs = 60_000 }: StartBuiltServerOptions,
): Promise<BuiltServer> {
  const child = spawn(process.execPath, [`services/${service}/dist/server.js`], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? '',
      ...env,
      ...(port === undefined ? {} : { HOST: '127.0.0.1', [PORT_VARIABLE[service]]: String(port) }),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const logs: ServerLogLine[] = []
  const garbage: string[] = []
  const stderr: string[] = []
  const waiters = new Set<() => void>()
  let buffered = ''
  child.stdout.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8')
    const lines = buffered.split('\n')
    buffered = lines.pop() ?? ''
    for (const line of lines.filter(Boolean)) {
      try {
        logs.push(JSON.parse(line) as ServerLogLine)
      } catch {
        garbage.push(line)
      }
    }
    for (const wake of waiters) wake()
  })
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk.toString('utf8')))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal, at: Date.now() })),
  )
  let gone = false
  void exited.then(() => {
    gone = true
    for (const wake of waiters) wake()
  })
  const output = () => [...garbage, ...stderr].join('\n')
  const waitFor = (predicate: (line: ServerLogLine) => boolean, what: string, timeoutMs = 15_000) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => done(new Error(`timed out waiting for ${what}`)), timeoutMs)
      const check = () => {
        if (logs.some(predicate)) done()
        else if (gone) done(new Error(`the server exited while waiting for ${what}: ${output()}`))
      }
      const done = (err?: Error) => {
        clearTimeout(timer)
        waiters.delete(check)
        if (err) reject(err)
        else resolve()
      }
      waiters.add(check)
      check()
    })
  const stop = () => {
    if (!gone) child.kill('SIGTERM')
    return exited
  }

  try {
    if (port === undefined) {
      await waitFor((l) => /^Server listening at /.test(l.msg), `${service} to listen`, readyTimeoutMs)
      const listening = logs.find((l) => /^Server listening at /.test(l.msg))!
      const base = listening.msg.replace(/^Server listening at /, '')
      return { child, base, logs, garbage, stderr, exited, waitFor, stop }
    }
    const base = `http://127.0.0.1:${port}`
    // Each poll is one request; the loop ends on readiness, on exit, or at the deadline.
    for (const deadline = Date.now() + readyTimeoutMs; ; ) {
      if (gone) throw new Error(`${service} exited before it was ready:\n${output()}`)
      if (Date.now() > deadline)
        throw new Error(`${service} was not ready within ${readyTimeoutMs} ms:\n${output()}`)
      const ready = await fetch(`${base}/readyz`).then(
        (r) => r.status === 200,
        () => false,
      )
      if (ready) return { child, base, logs, garbage, stderr, exited, waitFor, stop }
      await new Promise((r) => setTimeout(r, 20))
    }
  } catch (err) {
    child.kill('SIGKILL')
    throw err
  }
}
