import type { Static, TObject, TSchema } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'

export class ConfigError extends Error {
  override name = 'ConfigError'
}

export type Env = Record<string, string | undefined>

/** A ConfigError about one variable, in the format of `loadEnv`'s list; never echoes the value. */
export const invalid = (name: string, problem: string): ConfigError =>
  new ConfigError(`Invalid configuration:\n  ${name}: ${problem}`)

/**
 * Reads the variables a schema declares from `env`, applies defaults, converts strings to the
 * declared types and validates. Throws one ConfigError listing every problem; values are never
 * echoed, so a secret cannot leak through the message.
 */
export function loadEnv<T extends TObject>(schema: T, env: Env): Static<T> {
  const picked: Record<string, unknown> = {}
  for (const [key, prop] of Object.entries(schema.properties)) {
    const raw = env[key]
    if (raw !== undefined && raw !== '') picked[key] = convert(prop, raw.trim())
  }
  const value = Value.Default(schema, picked)
  if (Value.Check(schema, value)) return value
  const problems = [...Value.Errors(schema, value)].map(
    (e) => `  ${e.path.slice(1) || '(root)'}: ${e.message}`,
  )
  throw new ConfigError(`Invalid configuration:\n${[...new Set(problems)].join('\n')}`)
}

const INTEGER = /^-?\d+$/
const NUMBER = /^-?\d+(\.\d+)?$/
const BOOLEANS: Record<string, boolean> = { true: true, false: false, '1': true, '0': false }

/**
 * Strict conversion of one variable: `1e3`, `0x10`, `3001.5` or `yes` are left as strings, so
 * validation reports them instead of guessing (TypeBox's own Convert would read `1e3` as 1).
 */
function convert(schema: TSchema, raw: string): unknown {
  switch (schema.type) {
    case 'integer':
      return INTEGER.test(raw) ? Number(raw) : raw
    case 'number':
      return NUMBER.test(raw) ? Number(raw) : raw
    case 'boolean':
      return BOOLEANS[raw.toLowerCase()] ?? raw
    default:
      return raw
  }
}

/** Splits a comma-separated list, dropping blanks. */
export const splitList = (raw: string): string[] =>
  raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
