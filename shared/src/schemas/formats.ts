import { FormatRegistry, Type } from '@sinclair/typebox'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** True for the canonical textual form of a UUID (any version). */
export const isUuid = (value: string): boolean => UUID.test(value)

// Ajv validates `format` in routes; TypeBox's own Value.Check needs the format registered too.
if (!FormatRegistry.Has('uuid')) FormatRegistry.Set('uuid', isUuid)

export const Uuid = (options: { description?: string } = {}) => Type.String({ format: 'uuid', ...options })
