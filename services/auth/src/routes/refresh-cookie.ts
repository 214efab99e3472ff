import type { FastifyReply, FastifyRequest } from 'fastify'
import type { AuthConfig } from '../config.js'
import type { IssuedRefresh } from '../domain/context.js'

export const REFRESH_COOKIE = 'biore_refresh'
export const AUTH_PREFIX = '/api/v1/auth'

/**
 * The refresh token's cookie: HttpOnly, SameSite=Strict, sent only to the auth routes, `Secure`
 * and `Domain` from config. Non-browser clients may send the token in the body instead.
 */
export function refreshCookie(config: AuthConfig) {
  const base = {
    httpOnly: true,
    sameSite: 'strict' as const,
    secure: config.cookie.secure,
    path: AUTH_PREFIX,
    ...(config.cookie.domain ? { domain: config.cookie.domain } : {}),
  }
  return {
    set: (reply: FastifyReply, refresh: IssuedRefresh) =>
      reply.setCookie(REFRESH_COOKIE, refresh.token, { ...base, maxAge: refresh.maxAgeSeconds }),
    clear: (reply: FastifyReply) => reply.clearCookie(REFRESH_COOKIE, base),
    /** The cookie wins over the body, as the contract says. */
    read: (req: FastifyRequest, body: { refreshToken?: string }): string | undefined =>
      req.cookies[REFRESH_COOKIE] || body.refreshToken || undefined,
  }
}
