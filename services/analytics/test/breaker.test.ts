import { once } from 'node:events'
import { AppError } from '@bio/contracts'
import { isTransient } from '@bio/service-kit'
import { describe, expect, it } from 'vitest'
import { Batcher } from '../src/ingest/batcher.js'
import { Breaker } from '../src/ingest/breaker.js'
import { silentLogger } from './helper.js'

/**
 * The breaker between the write path and the database, with fake writes and probes (our own
 * component; the database is faked only to control when it is "down"). Nothing here sleeps: the
 * tests wait on the breaker's `open` / `close` events and on promises they resolve themselves.
 */

const refused = () =>
  Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })

function deferred<T = void>() {
  let resolve!: (value: T) => void
  const promise = new Promise<T>((r) => {
    resolve = r
  })
  return { promise, resolve }
}

const outcome = (p: Promise<string>) =>
  p.then(
    (v) => v,
    (err: unknown) =>
      err instanceof AppError ? `${err.statusCode} retry-after=${err.headers?.['retry-after']}` : 'other',
  )

/** A database that is up or down, a breaker over its probe, and batchers that write to it. */
function setup(probeIntervalMs = 2000) {
  const db = { up: true, writes: 0, probes: 0 }
  const breaker = new Breaker({
    probeIntervalMs,
    probe: async () => {
      db.probes++
      if (!db.up) throw refused()
    },
  })
  const batcher = (name: string, gate?: Promise<void>) =>
    new Batcher<string, string>({
      name,
      maxBatch: 2,
      maxWaitMs: 0,
      maxQueue: 100,
      isTransient,
      log: silentLogger,
      retryDelayMs: 1,
      breaker,
      write: async (items) => {
        db.writes++
        await gate
        if (!db.up) throw refused()
        return items.map((x) => `ok:${x}`)
      },
    })
  return { db, breaker, batcher }
}

describe('Breaker', () => {
  it('a refused write opens it; queued and new writes are answered 503 at once, without a write', async () => {
    const { db, breaker, batcher } = setup(3000)
    const gate = deferred()
    const a = batcher('a', gate.promise)
    const b = batcher('b')
    db.up = false
    const first = outcome(a.submit('1')) // taken by the writer, waits on the gate
    const queued = [outcome(a.submit('2')), outcome(a.submit('3'))]
    const opened = once(breaker, 'open')
    gate.resolve()
    await opened
    expect(breaker.isOpen).toBe(true)
    expect(await Promise.all(queued)).toEqual(['503 retry-after=3', '503 retry-after=3'])
    const writesSoFar = db.writes
    // Another batcher over the same database does not even try.
    expect(await outcome(b.submit('x'))).toBe('503 retry-after=3')
    expect(db.writes).toBe(writesSoFar)
    // The batch in flight kept its one retry, which failed too.
    expect(await first).toBe('503 retry-after=3')
    expect(a.stats.unavailable + b.stats.unavailable).toBe(4)
    breaker.stop()
  })

  it('a successful probe closes it and writes go through again', async () => {
    const { db, breaker, batcher } = setup(50)
    const a = batcher('a')
    db.up = false
    const opened = once(breaker, 'open')
    expect(await outcome(a.submit('1'))).toBe('503 retry-after=1')
    await opened
    const closed = once(breaker, 'close')
    db.up = true
    await closed
    expect(breaker.isOpen).toBe(false)
    expect(db.probes).toBeGreaterThanOrEqual(1)
    expect(await a.submit('2')).toBe('ok:2')
    breaker.stop()
  })

  it('keeps probing while the database stays down, one probe at a time', async () => {
    const { db, breaker, batcher } = setup(50)
    const a = batcher('a')
    db.up = false
    await outcome(a.submit('1'))
    // Wait for three failed probes, then bring the database back.
    for (let failed = 0; failed < 3; ) if (!(await once(breaker, 'probed'))[0]) failed++
    expect(breaker.isOpen).toBe(true)
    const closed = once(breaker, 'close')
    db.up = true
    await closed
    breaker.stop()
  })

  it('a stopped breaker (shutdown) stays open and answers at once', async () => {
    const { db, breaker, batcher } = setup(50)
    const a = batcher('a')
    db.up = false
    await outcome(a.submit('1'))
    breaker.stop()
    db.up = true
    const probes = db.probes
    expect(await outcome(a.submit('2'))).toBe('503 retry-after=1')
    expect(db.probes).toBe(probes)
  })
})
