import { FormatRegistry, Type } from '@sinclair/typebox'

const UUID_PATTERN = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$'
const UUID = new RegExp(UUID_PATTERN)

/** True for the canonical textual form of a UUID (any version). */
export const isUuid = (value: string): boolean => UUID.test(value)

// Ajv validates `format` in routes; TypeBox's own Value.Check needs the format registered too.
if (!FormatRegistry.Has('uuid')) FormatRegistry.Set('uuid', isUuid)

/**
 * A UUID in canonical form. The pattern is what Ajv enforces (its `uuid` format also accepts a
 * `urn:uuid:` prefix, which a PostgreSQL uuid column refuses); `format` documents it in OpenAPI.
 */
export const Uuid = (options: { description?: string } = {}) =>
  Type.String({ format: 'uuid', pattern: UUID_PATTERN, ...options })
