import { EventEmitter } from 'node:events'
import { startTcpProxy, TEST_ADMIN_URL } from '@bio/service-kit/testing'
import postgres from 'postgres'
import { describe, expect, it } from 'vitest'

/**
 * Guards patches/postgres@3.4.9.patch (pnpm patchedDependencies). postgres.js 3.4.9 defers small
 * writes behind a setImmediate; when a connection's socket closed with such a write pending:
 * - the stale timer id was kept, so that connection never scheduled a write again: after a
 *   reconnect its queries hung for good (a database blip left the pool poisoned);
 * - a write queued after the close (the ROLLBACK of a transaction whose connection died) ran
 *   against a null socket and threw from the immediate: an uncaught exception, the process died.
 * If a postgres upgrade drops the patch, these fail. Remove the patch only when they pass without it.
 */

interface FakeSocket extends EventEmitter {
  readyState: string
  written: number
  write(data: Uint8Array | string, cb?: () => void): boolean
  setKeepAlive(): void
  destroy(): void
  end(): void
}

function fakeSocket(): FakeSocket {
  const socket = new EventEmitter() as FakeSocket
  socket.readyState = 'open'
  socket.written = 0
  socket.write = (data, cb) => {
    socket.written += typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength
    cb?.()
    return true
  }
  socket.setKeepAlive = () => {}
  socket.destroy = () => {
    socket.readyState = 'closed'
  }
  socket.end = socket.destroy
  return socket
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('postgres.js (patched): a socket that closes with a write pending', () => {
  /** Attempts to connect over fake sockets; `closeFirst`: the first socket closes before its deferred flush. */
  async function bytesPerAttempt(closeFirst: boolean): Promise<number[]> {
    const sockets: FakeSocket[] = []
    const sql = postgres({
      host: 'fake.invalid',
      database: 'none',
      username: 'none',
      max: 1,
      connect_timeout: 1,
      onnotice: () => {},
      // postgres.js's own socket factory option (missing from its .d.ts): no TCP involved.
      socket: () => {
        const socket = fakeSocket()
        sockets.push(socket)
        // Queued before the driver's own setImmediate(nextWrite) for the StartupMessage: wins the race.
        if (closeFirst && sockets.length === 1) setImmediate(() => socket.emit('close', false))
        return socket
      },
    } as unknown as postgres.Options<Record<string, never>>)
    void sql`select 1`.catch(() => undefined)
    for (let i = 0; i < 50 && sockets.length < (closeFirst ? 2 : 1); i++) await sleep(10)
    await sleep(50)
    await sql.end({ timeout: 0 }).catch(() => undefined)
    return sockets.map((s) => s.written)
  }

  it('(control) an undisturbed connection writes its StartupMessage', async () => {
    const written = await bytesPerAttempt(false)
    expect(written[0]).toBeGreaterThan(0)
  })

  it('the reconnect after it still writes (the connection is not poisoned)', async () => {
    const written = await bytesPerAttempt(true)
    expect(written.length).toBeGreaterThanOrEqual(2)
    expect(written[1], 'the reconnect wrote nothing: the stale-timer bug is back').toBeGreaterThan(0)
  })
})

describe('postgres.js (patched): a transaction whose connection dies', () => {
  it('rejects (no uncaught exception from its ROLLBACK), and the pool works again afterwards', async () => {
    const target = new URL(TEST_ADMIN_URL)
    const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) })
    const sql = postgres(proxy.url(TEST_ADMIN_URL), { max: 1, connect_timeout: 2, onnotice: () => {} })
    const uncaught: unknown[] = []
    const onUncaught = (err: unknown) => uncaught.push(err)
    process.on('uncaughtException', onUncaught)
    try {
      for (let round = 0; round < 3; round++) {
        const tx = sql.begin(async (t) => {
          await t`select pg_sleep(5)`
        })
        await sleep(150)
        await proxy.stop()
        await expect(tx).rejects.toMatchObject({ code: expect.stringMatching(/CONNECTION_|ECONN/) })
        await sleep(20)
        await proxy.start()
        // The only connection of the pool serves again, promptly.
        const started = Date.now()
        const rows = await sql`select ${round}::int as n`
        expect(rows[0]!.n).toBe(round)
        expect(Date.now() - started).toBeLessThan(2000)
      }
      expect(uncaught).toEqual([])
    } finally {
      process.off('uncaughtException', onUncaught)
      await sql.end({ timeout: 1 })
      await proxy.close()
    }
  })
})
