import type { FastifyRequest } from 'fastify'
import type { RequestContext } from '../domain/context.js'
import type { Caller } from '../domain/password-change.js'
import { DEVICE_COOKIE } from './refresh-cookie.js'

/** What the domain learns about the caller from the request (never from the body). */
export const contextOf = (req: FastifyRequest): RequestContext => ({
  ip: req.clientIp,
  userAgent: req.headers['user-agent'],
  acceptLanguage: req.headers['accept-language'],
  log: req.log,
  correlationId: req.id,
  deviceToken: req.cookies?.[DEVICE_COOKIE] || undefined,
})

/** The signed-in caller of a `requireAuth` route: user and refresh session of the token. */
export const callerOf = (req: FastifyRequest): Caller => ({ userId: req.auth!.sub, sessionId: req.auth!.sid })
