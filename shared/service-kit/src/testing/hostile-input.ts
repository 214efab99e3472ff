import type FastCheck from 'fast-check'
import type { Arbitrary } from 'fast-check'

/**
 * fast-check arbitraries for property-based hostile-input tests of HTTP routes. Bodies are built
 * as raw JSON text so they can hold what JSON.stringify cannot: NaN, 1e309, -0, duplicate keys,
 * `__proto__` keys, lone surrogate escapes and deep nesting. What is specific to a service (its
 * routes, valid bodies, headers and row checks) stays in its tests; these are the generic parts.
 *
 * The arbitraries are built by `hostileInput(fc)` from the caller's fast-check: this file is part of
 * shared/service-kit/src (compiled with the runtime) and so imports no dev dependency itself.
 */

/** Strings any service should shrug off: SQL and HTML injection, path traversal, odd Unicode. */
export const HOSTILE_STRINGS: readonly string[] = [
  "1' OR '1'='1",
  '<script>alert(1)</script>',
  '../../etc/passwd',
  '%00',
  '\uFEFF',
  '\u202Eevil',
  '𝕏𝕏𝕏',
]

/** JSON value texts a parser or a schema may choke on (invalid JSON among them, on purpose). */
export const HOSTILE_JSON_LITERALS: readonly string[] = [
  'NaN',
  '1e309',
  '-1e309',
  '-0',
  '1e-400',
  'Infinity',
  '"\\ud800"',
  '"\\u0000"',
  'true',
  'null',
  '[]',
  '{}',
  '{"__proto__":{"polluted":true}}',
  '{"constructor":{"prototype":{"polluted":true}}}',
]

export interface RawJsonValueOptions {
  /** Strings sent as JSON string values. */
  hostileStrings: readonly string[]
  /** Value texts besides HOSTILE_JSON_LITERALS. */
  literals?: readonly string[]
  /** The deepest `[[…]]` nesting. */
  maxNesting: number
  /** The longest `"xxx…"` string. */
  maxStringLength: number
  /** More value-text arbitraries. */
  extra?: readonly Arbitrary<string>[]
}

/** The text of a JSON object with these key/value texts, in order (duplicate keys kept). */
export const objectText = (pairs: [string, string][]) =>
  `{${pairs.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`

/**
 * What an HTTP header value can carry: Node's parser answers 400 itself to control characters
 * (NUL included) and reads the bytes as latin1, so values are limited to those characters here
 * (`inject` would otherwise pass strings no client can send).
 */
export const headerSafe = (s: string) =>
  [...s]
    .filter((c) => {
      const x = c.codePointAt(0)!
      return x === 9 || (x >= 0x20 && x !== 0x7f && x <= 0xff)
    })
    .join('')

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD'] as const

/** The hostile-input arbitraries, built with the fast-check instance the caller passes in. */
export function hostileInput(fc: typeof FastCheck) {
  /** The text of one JSON value (or of something that is almost one). */
  function rawJsonValue(options: RawJsonValueOptions): Arbitrary<string> {
    return fc.oneof(
      fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v) ?? 'null'),
      fc.constantFrom(...HOSTILE_JSON_LITERALS, ...(options.literals ?? [])),
      fc.constantFrom(...options.hostileStrings).map((s) => JSON.stringify(s)),
      fc.integer({ min: 1, max: options.maxNesting }).map((n) => `${'['.repeat(n)}${']'.repeat(n)}`),
      fc.integer({ min: 1, max: options.maxStringLength }).map((n) => JSON.stringify('x'.repeat(n))),
      fc.string({ unit: 'binary', maxLength: 40 }).map((s) => JSON.stringify(s)),
      fc.double().map((d) => (Object.is(d, -0) ? '-0' : Number.isFinite(d) ? String(d) : 'NaN')),
      ...(options.extra ?? []),
    )
  }

  /** An object key: mostly one of the route's `fields`, else a prototype-ish `specialKeys` entry or any string. */
  function hostileKey(fields: readonly string[], specialKeys: readonly string[]): Arbitrary<string> {
    return fc.oneof(
      { weight: 3, arbitrary: fields.length > 0 ? fc.constantFrom(...fields) : fc.constant('x') },
      fc.constantFrom(...specialKeys),
      fc.string({ maxLength: 12 }),
    )
  }

  /**
   * A body text: hostile pairs, a valid body with hostile overrides (duplicate keys: the last wins),
   * any JSON, or nothing.
   */
  function jsonBodyText(
    key: Arbitrary<string>,
    value: Arbitrary<string>,
    valid: () => Record<string, unknown>,
  ): Arbitrary<string> {
    const pair = fc.tuple(key, value)
    return fc.oneof(
      fc.array(pair, { maxLength: 8 }).map(objectText),
      {
        weight: 2,
        arbitrary: fc
          .array(pair, { maxLength: 2 })
          .map((overrides) =>
            objectText([
              ...Object.entries(valid()).map(([k, v]): [string, string] => [k, JSON.stringify(v)]),
              ...overrides,
            ]),
          ),
      },
      fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v) ?? ''),
      fc.constant(''),
    )
  }

  /** The body as bytes: as is, with invalid UTF-8 spliced in, random bytes, or no body at all. */
  function payloadOf(text: Arbitrary<string>): Arbitrary<Buffer | undefined> {
    return fc.oneof(
      { weight: 4, arbitrary: text.map((t) => Buffer.from(t)) },
      fc.tuple(text, fc.uint8Array({ minLength: 1, maxLength: 8 }), fc.nat()).map(([t, bytes, at]) => {
        const b = Buffer.from(t)
        const i = b.length === 0 ? 0 : at % b.length
        return Buffer.concat([b.subarray(0, i), Buffer.from([0xff, 0xfe, ...bytes]), b.subarray(i)])
      }),
      fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
      fc.constant(undefined),
    )
  }

  /** A header value: random or hostile, limited to what a client can send. */
  function hostileHeaderValue(hostileStrings: readonly string[]): Arbitrary<string> {
    return fc
      .oneof(fc.string({ unit: 'binary', maxLength: 60 }), fc.constantFrom(...hostileStrings))
      .map(headerSafe)
  }

  /** A query string: mostly none, else a random `?q=` or a hostile one (`extra` added to the base set). */
  function hostileQuery(extra: readonly string[] = []): Arbitrary<string> {
    return fc.oneof(
      { weight: 3, arbitrary: fc.constant('') },
      fc.string({ maxLength: 30 }).map((q) => `?q=${encodeURIComponent(q)}`),
      fc.constantFrom('?a=%', '?__proto__[polluted]=1', '?constructor[prototype][polluted]=1', ...extra),
    )
  }

  /** Mostly the route's own method, else any common one. */
  function methodOf<M extends string>(main: M): Arbitrary<M | (typeof METHODS)[number]> {
    return fc.oneof({ weight: 6, arbitrary: fc.constant(main) }, fc.constantFrom(...METHODS))
  }

  return { rawJsonValue, hostileKey, jsonBodyText, payloadOf, hostileHeaderValue, hostileQuery, methodOf }
}
