import { type ChildProcessByStdio, spawn } from 'node:child_process'
import type { Readable } from 'node:stream'

export interface ServerLogLine {
  level: number
  msg: string
  correlationId?: string
  [key: string]: unknown
}

export interface BuiltServer {
  child: ChildProcessByStdio<null, Readable, Readable>
  /** `http://127.0.0.1:<port>`, from the "Server listening at" line. */
  base: string
  /** Every JSON line of stdout so far. */
  logs: ServerLogLine[]
  /** Raw stdout lines that were not JSON (there must be none). */
  garbage: string[]
  stderr: string[]
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>
  /** Resolves once a log line matches (event-driven); rejects if the server exits first or after `timeoutMs`. */
  waitFor(predicate: (line: ServerLogLine) => boolean, what: string, timeoutMs?: number): Promise<void>
}

/**
 * Starts `node services/<service>/dist/server.js` (the built server, what production runs) from
 * `root` with exactly `env` (nothing inherited), and resolves once it listens.
 */
export async function startBuiltServer(
  root: string,
  service: 'auth' | 'analytics',
  env: Record<string, string>,
): Promise<BuiltServer> {
  const child = spawn(process.execPath, [`services/${service}/dist/server.js`], {
    cwd: root,
    env,
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
  const waitFor = (predicate: (line: ServerLogLine) => boolean, what: string, timeoutMs = 15_000) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => done(new Error(`timed out waiting for ${what}`)), timeoutMs)
      const check = () => {
        if (logs.some(predicate)) done()
        else if (gone) done(new Error(`the server exited while waiting for ${what}: ${stderr.join('')}`))
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
  await waitFor((l) => /^Server listening at /.test(l.msg), `${service} to listen`)
  const listening = logs.find((l) => /^Server listening at /.test(l.msg))!
  const base = listening.msg.replace(/^Server listening at /, '')
  return { child, base, logs, garbage, stderr, exited, waitFor }
}
