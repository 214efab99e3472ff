/**
 * Error properties that never reach a log line: the bound parameters of a failed query (drizzle's
 * `params`; postgres.js's `parameters` and `args`) hold what the query wrote or looked up:
 * password hashes, refresh-token hashes, e-mail addresses.
 */
const PARAMETER_KEYS = new Set(['params', 'parameters', 'args'])

type ErrorLike = Error & Record<string, unknown>

const isErrorLike = (value: unknown): value is ErrorLike =>
  typeof value === 'object' && value !== null && typeof (value as Error).message === 'string'

export interface SerializedError {
  [key: string]: unknown
  type: string
  message: string
  stack: string
}

/**
 * The `err` serializer of every service's logger: type, message, stack, the error's own fields and
 * its cause chain, like pino's, except that query parameters are left out. Drizzle also writes them
 * into the message (`Failed query: <sql>\nparams: <values>`), so that line is replaced too.
 */
export function serializeError(err: Error): SerializedError {
  return serialize(err, 0) as SerializedError
}

function serialize(err: unknown, depth: number): unknown {
  if (!isErrorLike(err)) return err
  let { message, stack = '' } = err
  if (Array.isArray(err.params) && typeof err.query === 'string') {
    const safe = `Failed query: ${err.query}\nparams: [${err.params.length} redacted]`
    stack = stack.replace(message, safe)
    message = safe
  }
  const out: Record<string, unknown> = { type: err.constructor?.name ?? err.name, message, stack }
  for (const [key, value] of Object.entries(err)) {
    if (key in out || key === 'cause' || PARAMETER_KEYS.has(key) || typeof value === 'function') continue
    out[key] = value
  }
  if (err.cause !== undefined && depth < 5) out.cause = serialize(err.cause, depth + 1)
  return out
}
