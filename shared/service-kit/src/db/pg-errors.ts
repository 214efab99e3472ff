/** The fields drivers (postgres.js, PGlite) put on a server error; drizzle wraps them in `cause`. */
interface DriverError {
  code?: unknown
  constraint_name?: unknown
  constraint?: unknown
}

function* causes(err: unknown): Generator<DriverError> {
  let cur: unknown = err
  for (let depth = 0; cur && typeof cur === 'object' && depth < 5; depth++) {
    yield cur as DriverError
    cur = (cur as { cause?: unknown }).cause
  }
}

/** SQLSTATE of the first PostgreSQL error in the cause chain. */
export function sqlState(err: unknown): string | undefined {
  for (const e of causes(err)) if (typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code)) return e.code
  return undefined
}

/** True for a unique violation (23505), optionally on one named constraint or index. */
export function isUniqueViolation(err: unknown, constraint?: string): boolean {
  for (const e of causes(err)) {
    if (e.code !== '23505') continue
    const name = e.constraint_name ?? e.constraint
    return constraint === undefined || name === constraint
  }
  return false
}

/** Name of the violated unique constraint or index, if any. */
export function violatedConstraint(err: unknown): string | undefined {
  for (const e of causes(err)) {
    if (e.code !== '23505') continue
    const name = e.constraint_name ?? e.constraint
    return typeof name === 'string' ? name : undefined
  }
  return undefined
}

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'CONNECT_TIMEOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
])

/**
 * True when the database could not be reached or dropped the connection, or the server says it
 * cannot serve now (class 08 connection, 57P0x shutdown, 53300 too many connections, 57014 timeout).
 * These are worth one retry and map to 503, never 500.
 */
export function isUnavailable(err: unknown): boolean {
  for (const e of causes(err)) {
    if (typeof e.code !== 'string') continue
    if (CONNECTION_CODES.has(e.code)) return true
    if (/^08|^57P0|^53300$|^57014$/.test(e.code)) return true
  }
  return false
}

/** Worth one retry: the database was unavailable, or the transaction lost a deadlock or serialization race. */
export function isTransient(err: unknown): boolean {
  const state = sqlState(err)
  return state === '40P01' || state === '40001' || isUnavailable(err)
}
