import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'

export const REQUEST_ID_HEADER = 'x-request-id'
const SANE_ID = /^[A-Za-z0-9._:-]{8,128}$/

/**
 * Fastify `genReqId`: the caller's `x-request-id` when it is a sane token (8-128 chars of
 * `[A-Za-z0-9._:-]`), so ids can be followed across services; a fresh UUID otherwise, so
 * nothing a client sends can forge log lines or headers.
 */
export function correlationId(req: IncomingMessage): string {
  const given = req.headers[REQUEST_ID_HEADER]
  return typeof given === 'string' && SANE_ID.test(given) ? given : randomUUID()
}
