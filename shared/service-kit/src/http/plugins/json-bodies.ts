import { AppError, CommonErrors } from '@bio/contracts'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'

/** PostgreSQL text cannot hold NUL, nor a lone UTF-16 surrogate (it is not valid UTF-8). */
const unstorable = (s: string): boolean => s.includes('\u0000') || !s.isWellFormed()

/** Dotted path of the first string (value or key) that PostgreSQL could not store. */
function findUnstorable(value: unknown, path: string[] = [], depth = 0): string | undefined {
  if (typeof value === 'string') return unstorable(value) ? path.join('.') || '(body)' : undefined
  if (!value || typeof value !== 'object' || depth > 32) return undefined
  for (const [key, child] of Object.entries(value)) {
    if (unstorable(key)) return [...path, JSON.stringify(key)].join('.')
    const hit = findUnstorable(child, [...path, key], depth + 1)
    if (hit) return hit
  }
  return undefined
}

type Done = (err: Error | null, body?: unknown) => void

/**
 * The JSON body parser of every service: Fastify's own (prototype-poisoning safe), plus two
 * rules. An empty body is no body (browsers' fetch wrappers send `content-type: application/json`
 * with nothing), and a string PostgreSQL cannot store (NUL, lone surrogates) is a 400 naming the
 * field rather than a database error or a silently dropped analytics write.
 */
export function jsonBodyParser(app: FastifyInstance) {
  const parse = app.getDefaultJsonParser('error', 'error')
  return (req: FastifyRequest, body: string | Buffer, done: Done) => {
    if (body.length === 0) return done(null, undefined)
    parse(req, body as string, (err: Error | null, value?: unknown) => {
      if (err) return done(err)
      const field = findUnstorable(value)
      if (field) {
        return done(
          new AppError(CommonErrors.VALIDATION_FAILED, {
            details: [
              { field, message: 'must not contain NUL characters or lone surrogates', rule: 'unstorable' },
            ],
          }),
        )
      }
      done(null, value)
    })
  }
}

/**
 * Replaces Fastify's default parsers: JSON through `jsonBodyParser`, and no text/plain (routes
 * take JSON, so anything else is 415). A scope that must accept text/plain JSON (sendBeacon)
 * registers `jsonBodyParser` for it.
 */
export const jsonBodies = fp(
  async (app) => {
    app.removeAllContentTypeParsers()
    app.addContentTypeParser('application/json', { parseAs: 'string' }, jsonBodyParser(app))
  },
  { name: 'json-bodies', fastify: '5.x' },
)
