/** One entry of an error catalogue: a stable code, its HTTP status, an English message and an i18n key. */
export interface ErrorSpec {
  readonly code: string
  readonly status: number
  readonly message: string
  readonly i18nKey: string
}

export interface ErrorDetail {
  field?: string
  message: string
  rule?: string
}

export interface AppErrorOptions {
  i18nVars?: Record<string, string | number>
  details?: ErrorDetail[]
  headers?: Record<string, string>
  cause?: unknown
}

/** The only error type that reaches a client with its own message. Everything else becomes INTERNAL. */
export class AppError extends Error {
  readonly code: string
  readonly statusCode: number
  readonly i18nKey: string
  readonly i18nVars: Record<string, string | number> | undefined
  readonly details: ErrorDetail[] | undefined
  readonly headers: Record<string, string> | undefined

  constructor(spec: ErrorSpec, options: AppErrorOptions = {}) {
    super(spec.message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'AppError'
    this.code = spec.code
    this.statusCode = spec.status
    this.i18nKey = spec.i18nKey
    this.i18nVars = options.i18nVars
    this.details = options.details
    this.headers = options.headers
  }
}

/** Declares a catalogue: `defineErrors({ EMAIL_TAKEN: { status: 409, ... } })`, keys become codes. */
export function defineErrors<K extends string>(
  entries: Record<K, Omit<ErrorSpec, 'code'>>,
): { readonly [P in K]: ErrorSpec } {
  const out = {} as Record<K, ErrorSpec>
  for (const code of Object.keys(entries) as K[]) out[code] = { code, ...entries[code] }
  return out
}

export const isAppError = (err: unknown): err is AppError => err instanceof AppError
