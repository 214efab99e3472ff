import { Writable } from 'node:stream'

/** Log lines captured from a logger's destination stream (pino writes one JSON line per record). */
export interface LogCapture {
  /** Every non-empty line written so far. */
  lines: string[]
  /** The stream to hand the logger (`logger: { ...options, stream }`). */
  stream: Writable
  /** The lines parsed as JSON. */
  json(): Record<string, unknown>[]
}

export function captureLogs(): LogCapture {
  const lines: string[] = []
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean))
      done()
    },
  })
  return { lines, stream, json: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) }
}
