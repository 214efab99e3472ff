import { randomUUID } from 'node:crypto'
import type { Socket } from 'node:net'
import { AppError, CommonErrors, type ErrorSpec, errorBody } from '@bio/contracts'
import type { FastifyInstance } from 'fastify'
import { REQUEST_ID_HEADER } from './correlation-id.js'

/** Node's parser and timeout errors, by `err.code`, and how they are answered. */
const CLIENT_ERRORS: Record<string, ErrorSpec> = {
  ERR_HTTP_REQUEST_TIMEOUT: CommonErrors.REQUEST_TIMEOUT,
  HPE_HEADER_OVERFLOW: CommonErrors.HEADERS_TOO_LARGE,
}

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  408: 'Request Timeout',
  431: 'Request Header Fields Too Large',
}

/**
 * Fastify's `clientErrorHandler`: the answer to what Node's HTTP parser rejects before any route
 * or hook runs (a malformed request line or header, headers over the size limit, a request or its
 * headers not arriving within the timeouts). Written straight to the socket, in the envelope and
 * with the API's security headers, then the connection is closed. Nothing is written to a socket
 * that is gone.
 */
export function clientErrorHandler(securityHeaders: Record<string, string>) {
  const fixed = Object.entries(securityHeaders)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('')
  return function onClientError(this: FastifyInstance, err: Error & { code?: string }, socket: Socket): void {
    if (err.code === 'ECONNRESET' || socket.destroyed) return
    this.log.debug({ code: err.code }, 'client error')
    if (socket.writable) {
      const spec = CLIENT_ERRORS[err.code ?? ''] ?? CommonErrors.BAD_REQUEST
      const id = randomUUID()
      const body = JSON.stringify(errorBody(new AppError(spec), id))
      socket.write(
        `HTTP/1.1 ${spec.status} ${REASONS[spec.status]}\r\n` +
          'content-type: application/json; charset=utf-8\r\n' +
          `content-length: ${Buffer.byteLength(body)}\r\n` +
          `${REQUEST_ID_HEADER}: ${id}\r\n${fixed}connection: close\r\n\r\n${body}`,
      )
    }
    socket.destroy()
  }
}
