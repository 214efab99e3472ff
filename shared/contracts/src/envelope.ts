import { type Static, type TSchema, Type } from '@sinclair/typebox'

/** The schema of `{ success: true, data: T }`, the success envelope of every JSON answer (for a route's `response`). */
export const successSchema = <T extends TSchema>(data: T) =>
  Type.Object({ success: Type.Literal(true), data }, { additionalProperties: false })

export const ErrorDetailSchema = Type.Object({
  field: Type.Optional(Type.String({ description: 'Dotted path of the offending field' })),
  message: Type.String(),
  rule: Type.Optional(Type.String({ description: 'The failed rule, e.g. `format` or `maxLength`' })),
})

export const ErrorBody = Type.Object({
  code: Type.String({ description: 'Stable UPPER_SNAKE machine code', examples: ['AUTH_UNAUTHORIZED'] }),
  message: Type.String({ description: 'English message; clients translate with `i18nKey`' }),
  i18nKey: Type.String({ examples: ['auth.login.invalid_credentials'] }),
  i18nVars: Type.Optional(Type.Record(Type.String(), Type.Union([Type.String(), Type.Number()]))),
  details: Type.Optional(Type.Array(ErrorDetailSchema)),
  correlationId: Type.String({ description: 'Echo of the `x-request-id` response header' }),
})

export const ErrorEnvelope = Type.Object(
  { success: Type.Literal(false), error: ErrorBody },
  { title: 'ErrorEnvelope' },
)
export type ErrorEnvelope = Static<typeof ErrorEnvelope>

/** `{ ok: true }`, the answer of the silent analytics writes. */
export const OkResult = Type.Object({ ok: Type.Literal(true) })

/**
 * The error-envelope schema for each listed status (for a route's `response`, so OpenAPI lists every answer). 500 is always
 * added: any route can fail unexpectedly, and its body is the same envelope.
 */
export const errorResponses = <S extends number>(...statuses: S[]) =>
  Object.fromEntries([...statuses, 500].map((s) => [s, ErrorEnvelope])) as Record<
    S | 500,
    typeof ErrorEnvelope
  >

/** The value `{ success: true, data }`: what a handler returns (its schema is `successSchema`). */
export const successBody = <T>(data: T) => ({ success: true as const, data })
