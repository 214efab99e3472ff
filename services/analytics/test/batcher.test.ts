import { AppError } from '@bio/contracts'
import { isTransient } from '@bio/service-kit'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { Batcher, type BatcherOptions } from '../src/ingest/batcher.js'
import { silentLogger } from './helper.js'

/**
 * Unit tests of the group-commit Batcher with a fake `write`: the Batcher is our own pure
 * component, and the fake stands in for the database writer only to control timing and failures.
 */

/** A promise with its resolve/reject exposed. */
function deferred<T>() {
  let resolve!: (value: T) => void
  let reject!: (err: unknown) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

/** Tracks whether a promise has settled, without awaiting it. */
function track<T>(promise: Promise<T>) {
  const state: { settled: boolean; value?: T; error?: unknown } = { settled: false }
  promise.then(
    (value) => {
      state.settled = true
      state.value = value
    },
    (error) => {
      state.settled = true
      state.error = error
    },
  )
  return state
}

/** What a submit settled to: its result, or the code and Retry-After of the AppError it was refused with. */
const outcome = (p: Promise<string | null>) =>
  p.then(
    (value) => value,
    (err: unknown) =>
      err instanceof AppError ? `${err.code} retry-after=${err.headers?.['retry-after']}` : `thrown: ${err}`,
  )
const NOT_STORED = 'SERVICE_UNAVAILABLE retry-after=1'

const flushMicrotasks = async () => {
  for (let i = 0; i < 10; i++) await Promise.resolve()
}

const transientError = () =>
  Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })
const poisonError = () => Object.assign(new Error('invalid input syntax for type uuid'), { code: '22P02' })

interface Recorder {
  batches: string[][]
  inFlight: number
  maxInFlight: number
}

/** A Batcher over strings whose write echoes `ok:<item>`, recording every batch it is given. */
function makeBatcher(
  options: Partial<BatcherOptions<string, string | null>> = {},
  write?: (items: string[]) => Promise<(string | null)[]>,
) {
  const rec: Recorder = { batches: [], inFlight: 0, maxInFlight: 0 }
  const batcher = new Batcher<string, string | null>({
    name: 'test',
    maxBatch: 100,
    maxWaitMs: 5,
    maxQueue: 1000,
    isTransient,
    log: silentLogger,
    retryDelayMs: 1,
    ...options,
    write: async (items) => {
      rec.batches.push([...items])
      rec.inFlight++
      rec.maxInFlight = Math.max(rec.maxInFlight, rec.inFlight)
      try {
        return await (write ?? (async (xs) => xs.map((x) => `ok:${x}`)))(items)
      } finally {
        rec.inFlight--
      }
    },
  })
  return { batcher, rec }
}

afterEach(() => {
  vi.useRealTimers()
})

describe('Batcher: batching', () => {
  it('cuts batches at maxBatch, keeps arrival order, and answers each item with its own result', async () => {
    const { batcher, rec } = makeBatcher({ maxBatch: 3, maxWaitMs: 1000 })
    const items = ['a', 'b', 'c', 'd', 'e', 'f', 'g']
    const results = await Promise.all(items.map((i) => batcher.submit(i)))
    expect(results).toEqual(items.map((i) => `ok:${i}`))
    expect(rec.batches).toEqual([['a', 'b', 'c'], ['d', 'e', 'f'], ['g']])
    expect(batcher.stats).toMatchObject({ batches: 3, items: 7, largestBatch: 3, failedItems: 0, queued: 0 })
  })

  it('waits maxWaitMs after the first item before writing a partial batch', async () => {
    vi.useFakeTimers()
    const { batcher, rec } = makeBatcher({ maxBatch: 10, maxWaitMs: 50 })
    const a = track(batcher.submit('a'))
    vi.advanceTimersByTime(20)
    const b = track(batcher.submit('b'))
    vi.advanceTimersByTime(29)
    await flushMicrotasks()
    expect(rec.batches).toEqual([])
    expect(a.settled).toBe(false)
    vi.advanceTimersByTime(1) // 50 ms after the first item, not after the last
    await flushMicrotasks()
    expect(rec.batches).toEqual([['a', 'b']])
    expect(a.value).toBe('ok:a')
    expect(b.value).toBe('ok:b')
  })

  it('writes at once when maxBatch items wait, without waiting for the timer', async () => {
    vi.useFakeTimers()
    const { batcher, rec } = makeBatcher({ maxBatch: 2, maxWaitMs: 10_000 })
    const a = track(batcher.submit('a'))
    const b = track(batcher.submit('b'))
    await flushMicrotasks()
    expect(rec.batches).toEqual([['a', 'b']])
    expect(a.value).toBe('ok:a')
    expect(b.value).toBe('ok:b')
  })

  it('maxWaitMs 0 writes each arrival immediately; arrivals during a write form the next batch', async () => {
    const gate = deferred<void>()
    const { batcher, rec } = makeBatcher({ maxWaitMs: 0 }, async (xs) => {
      if (xs.includes('a')) await gate.promise
      return xs.map((x) => `ok:${x}`)
    })
    const a = batcher.submit('a')
    const rest = ['b', 'c', 'd'].map((x) => batcher.submit(x))
    await flushMicrotasks()
    expect(rec.batches).toEqual([['a']])
    gate.resolve()
    expect(await Promise.all([a, ...rest])).toEqual(['ok:a', 'ok:b', 'ok:c', 'ok:d'])
    expect(rec.batches).toEqual([['a'], ['b', 'c', 'd']])
  })

  it('an item submitted the moment a batch resolves is still written (no lost wake-up)', async () => {
    const { batcher, rec } = makeBatcher({ maxBatch: 1, maxWaitMs: 0 })
    // Submitting straight from the resolution of the previous result, in the same microtask run.
    const chained = await batcher
      .submit('a')
      .then(() => batcher.submit('b'))
      .then(() => batcher.submit('c'))
    expect(chained).toBe('ok:c')
    expect(await Promise.all(['d', 'e'].map((x) => batcher.submit(x)))).toEqual(['ok:d', 'ok:e'])
    expect(await batcher.submit('f')).toBe('ok:f')
    expect(rec.batches.flat()).toEqual(['a', 'b', 'c', 'd', 'e', 'f'])
  })

  it('never has two batches in flight', async () => {
    const { batcher, rec } = makeBatcher({ maxBatch: 2 }, async (xs) => {
      await new Promise((r) => setTimeout(r, 2))
      return xs.map((x) => `ok:${x}`)
    })
    await Promise.all(Array.from({ length: 20 }, (_, i) => batcher.submit(String(i))))
    expect(rec.batches.length).toBeGreaterThanOrEqual(10)
    expect(rec.maxInFlight).toBe(1)
    expect(rec.batches.flat()).toEqual(Array.from({ length: 20 }, (_, i) => String(i)))
  })
})

describe('Batcher: acknowledgement only after the write', () => {
  it('no promise resolves before its write resolves', async () => {
    const gate = deferred<(string | null)[]>()
    const { batcher } = makeBatcher({}, () => gate.promise)
    const states = ['a', 'b', 'c'].map((x) => track(batcher.submit(x)))
    await new Promise((r) => setTimeout(r, 20))
    expect(states.map((s) => s.settled)).toEqual([false, false, false])
    gate.resolve(['1', '2', '3'])
    await flushMicrotasks()
    expect(states.map((s) => s.value)).toEqual(['1', '2', '3'])
  })
})

describe('Batcher: failures', () => {
  it('a transient error (ECONNREFUSED) is retried once, then answered 503 with Retry-After', async () => {
    const { batcher, rec } = makeBatcher({}, async () => {
      throw transientError()
    })
    const results = await Promise.all([outcome(batcher.submit('a')), outcome(batcher.submit('b'))])
    expect(results).toEqual([NOT_STORED, NOT_STORED])
    expect(rec.batches).toEqual([
      ['a', 'b'],
      ['a', 'b'],
    ])
    expect(batcher.stats).toMatchObject({ retries: 1, failedItems: 2 })
  })

  it('a transient error that clears on the retry is answered normally', async () => {
    let calls = 0
    const { batcher, rec } = makeBatcher({}, async (xs) => {
      calls++
      if (calls === 1) throw transientError()
      return xs.map((x) => `ok:${x}`)
    })
    expect(await Promise.all([batcher.submit('a'), batcher.submit('b')])).toEqual(['ok:a', 'ok:b'])
    expect(rec.batches).toHaveLength(2)
    expect(batcher.stats).toMatchObject({ retries: 1, failedItems: 0 })
  })

  it('waits retryDelayMs before the retry', async () => {
    const times: number[] = []
    const { batcher } = makeBatcher({ retryDelayMs: 40 }, async () => {
      times.push(performance.now())
      throw transientError()
    })
    expect(await outcome(batcher.submit('a'))).toBe(NOT_STORED)
    expect(times).toHaveLength(2)
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(35)
  })

  it('a deadlock (40P01) wrapped in a cause counts as transient', async () => {
    const { batcher, rec } = makeBatcher({}, async () => {
      throw new Error('query failed', { cause: { code: '40P01' } })
    })
    expect(await outcome(batcher.submit('a'))).toBe(NOT_STORED)
    expect(rec.batches).toHaveLength(2)
  })

  it('a non-transient error in a batch of several falls back to one-by-one: only the poison item fails', async () => {
    const { batcher, rec } = makeBatcher({}, async (xs) => {
      if (xs.includes('poison')) throw poisonError()
      return xs.map((x) => `ok:${x}`)
    })
    const items = ['a', 'b', 'poison', 'c']
    const results = await Promise.all(items.map((i) => outcome(batcher.submit(i))))
    expect(results).toEqual(['ok:a', 'ok:b', NOT_STORED, 'ok:c'])
    // The whole batch once (not retried: not transient), then each item alone, in order.
    expect(rec.batches).toEqual([items, ['a'], ['b'], ['poison'], ['c']])
    expect(batcher.stats).toMatchObject({ retries: 0, failedItems: 1 })
  })

  it('a non-transient error on a single item is not retried', async () => {
    const { batcher, rec } = makeBatcher({}, async () => {
      throw poisonError()
    })
    expect(await outcome(batcher.submit('x'))).toBe(NOT_STORED)
    expect(rec.batches).toEqual([['x']])
  })

  it('a failed batch does not stop the next one', async () => {
    const { batcher } = makeBatcher({ maxBatch: 1 }, async (xs) => {
      if (xs[0] === 'bad') throw poisonError()
      return xs.map((x) => `ok:${x}`)
    })
    expect(await Promise.all(['bad', 'good'].map((x) => outcome(batcher.submit(x))))).toEqual([
      NOT_STORED,
      'ok:good',
    ])
    expect(await batcher.submit('later')).toBe('ok:later')
  })
})

describe('Batcher: back-pressure and shutdown', () => {
  it('rejects with SERVICE_UNAVAILABLE (503, retry-after) once maxQueue items wait', async () => {
    const gate = deferred<void>()
    const { batcher } = makeBatcher({ maxBatch: 1, maxWaitMs: 0, maxQueue: 2 }, async (xs) => {
      await gate.promise
      return xs.map((x) => `ok:${x}`)
    })
    const inFlight = batcher.submit('a') // taken by the writer at once: no longer queued
    const queued = [batcher.submit('b'), batcher.submit('c')]
    const err = await batcher.submit('d').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(AppError)
    expect(err).toMatchObject({ code: 'SERVICE_UNAVAILABLE', statusCode: 503 })
    expect((err as AppError).headers?.['retry-after']).toBeDefined()
    expect(batcher.stats.rejected).toBe(1)
    gate.resolve()
    expect(await Promise.all([inFlight, ...queued])).toEqual(['ok:a', 'ok:b', 'ok:c'])
    // Room again once the queue drained.
    expect(await batcher.submit('e')).toBe('ok:e')
  })

  it('close() flushes everything queued, without waiting for maxWaitMs', async () => {
    const { batcher, rec } = makeBatcher({ maxBatch: 10, maxWaitMs: 60_000 })
    const states = ['a', 'b', 'c'].map((x) => track(batcher.submit(x)))
    // A partial batch: it waits for the 60 s timer.
    await new Promise((r) => setTimeout(r, 20))
    expect(states.map((s) => s.settled)).toEqual([false, false, false])
    expect(rec.batches).toEqual([])
    const started = Date.now()
    await batcher.close()
    expect(Date.now() - started).toBeLessThan(1000)
    expect(states.map((s) => s.value)).toEqual(['ok:a', 'ok:b', 'ok:c'])
    expect(rec.batches).toEqual([['a', 'b', 'c']])
    expect(batcher.stats.queued).toBe(0)
  })

  it('close() also flushes items submitted while it is flushing', async () => {
    const gate = deferred<void>()
    const { batcher, rec } = makeBatcher({ maxBatch: 1, maxWaitMs: 60_000 }, async (xs) => {
      if (xs[0] === 'a') await gate.promise
      return xs.map((x) => `ok:${x}`)
    })
    const a = track(batcher.submit('a'))
    const closed = track(batcher.close())
    const late = track(batcher.submit('late'))
    gate.resolve()
    await vi.waitFor(() => expect(closed.settled).toBe(true))
    expect(a.value).toBe('ok:a')
    expect(late.value).toBe('ok:late')
    expect(rec.batches).toEqual([['a'], ['late']])
  })

  it('close() waits for the batch in flight and for what queued behind it', async () => {
    const gate = deferred<void>()
    const { batcher } = makeBatcher({ maxBatch: 1 }, async (xs) => {
      if (xs[0] === 'a') await gate.promise
      return xs.map((x) => `ok:${x}`)
    })
    const a = track(batcher.submit('a'))
    const b = track(batcher.submit('b'))
    const closed = track(batcher.close())
    await flushMicrotasks()
    expect(closed.settled).toBe(false)
    gate.resolve()
    await vi.waitFor(() => expect(closed.settled).toBe(true))
    expect(a.value).toBe('ok:a')
    expect(b.value).toBe('ok:b')
  })

  it('close() on an idle batcher resolves at once', async () => {
    const { batcher, rec } = makeBatcher()
    await batcher.close()
    expect(rec.batches).toEqual([])
  })
})
