import type { Static, TObject } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'

export class ConfigError extends Error {
  override name = 'ConfigError'
}

export type Env = Record<string, string | undefined>

/**
 * Reads the variables a schema declares from `env`, applies defaults, converts strings to the
 * declared types and validates. Throws one ConfigError listing every problem; values are never
 * echoed, so a secret cannot leak through the message.
 */
export function loadEnv<T extends TObject>(schema: T, env: Env): Static<T> {
  const picked: Record<string, string> = {}
  for (const key of Object.keys(schema.properties)) {
    const raw = env[key]
    if (raw !== undefined && raw !== '') picked[key] = raw
  }
  const value = Value.Convert(schema, Value.Default(schema, picked))
  if (Value.Check(schema, value)) return value
  const problems = [...Value.Errors(schema, value)].map(
    (e) => `  ${e.path.slice(1) || '(root)'}: ${e.message}`,
  )
  throw new ConfigError(`Invalid configuration:\n${[...new Set(problems)].join('\n')}`)
}

/** Splits a comma-separated list, dropping blanks. */
export const splitList = (raw: string): string[] =>
  raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
