import { execFile } from 'node:child_process'
import { chmodSync, chownSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { freePort } from './built-server.js'

const run = promisify(execFile)

/** Where Debian's PostgreSQL 15 server binaries live (override with PG_BIN). */
export const PG_BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin'

/** A PostgreSQL server of its own for one test file: stop it, start it, throw it away. */
export interface ThrowawayCluster {
  /** `postgres://postgres@127.0.0.1:<port>/postgres` */
  url: string
  port: number
  /** `pg_ctl stop -m fast`: open connections are closed, new ones refused. */
  stop(): Promise<void>
  start(): Promise<void>
  /** Stops it (immediate) and deletes its data directory; safe to call twice and after a failure. */
  destroy(): Promise<void>
}

/** Runs a server binary as the `postgres` user when we are root (initdb and postgres refuse root). */
function asPostgres(binary: string, args: string[]) {
  const command = join(PG_BIN, binary)
  const isRoot = process.getuid?.() === 0
  return isRoot
    ? run('runuser', ['-u', 'postgres', '--', command, ...args], { timeout: 60_000 })
    : run(command, args, { timeout: 60_000 })
}

/**
 * A throw-away cluster: `initdb` into a new temp directory owned by `postgres`, trust auth, a free
 * port on 127.0.0.1 and the socket in the data directory, so nothing else on the machine is
 * touched. Always `destroy()` it (in `afterAll`); it is also removed when start-up fails.
 */
export async function startThrowawayCluster(): Promise<ThrowawayCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'pg-throwaway-'))
  const data = join(dir, 'data')
  if (process.getuid?.() === 0) {
    const { stdout } = await run('id', ['-u', 'postgres'])
    const { stdout: gid } = await run('id', ['-g', 'postgres'])
    chownSync(dir, Number(stdout.trim()), Number(gid.trim()))
  }
  chmodSync(dir, 0o700)
  const port = await freePort()
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50`
  const pgCtl = (...args: string[]) => asPostgres('pg_ctl', ['-D', data, ...args])
  let destroyed = false
  const cluster: ThrowawayCluster = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    stop: async () => {
      await pgCtl('-m', 'fast', '-w', 'stop')
    },
    start: async () => {
      await pgCtl('-w', '-t', '60', '-l', join(dir, 'server.log'), '-o', options, 'start')
    },
    destroy: async () => {
      if (destroyed) return
      destroyed = true
      await pgCtl('-m', 'immediate', '-w', 'stop').catch(() => {})
      rmSync(dir, { recursive: true, force: true })
    },
  }
  try {
    await asPostgres('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8'])
    await cluster.start()
  } catch (err) {
    await cluster.destroy()
    throw err
  }
  return cluster
}
