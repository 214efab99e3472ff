import type { FastifyReply, FastifyRequest } from 'fastify'
import type { AuthConfig } from '../config.js'
import type { IssuedRefresh } from '../domain/context.js'
import { AUTH_PREFIX } from './prefix.js'

export const REFRESH_COOKIE = 'biore_refresh'
export const DEVICE_COOKIE = 'biore_device'
/** The known-device cookie lives a year; it is renewed at every sign-in and refresh. */
const DEVICE_COOKIE_MAX_AGE_S = 365 * 86_400

/** Where auth's cookies go: HttpOnly, SameSite=Strict, the auth routes only, `Secure`/`Domain` from config. */
function authCookieScope(config: AuthConfig) {
  return {
    httpOnly: true,
    sameSite: 'strict' as const,
    secure: config.cookie.secure,
    path: AUTH_PREFIX,
    ...(config.cookie.domain ? { domain: config.cookie.domain } : {}),
  }
}

/**
 * The known-device cookie (domain/known-device.ts), scoped like the refresh cookie. It survives
 * logout on purpose: it says this browser once proved the account, and grants nothing by itself.
 */
export function deviceCookie(config: AuthConfig) {
  const base = authCookieScope(config)
  return {
    set: (reply: FastifyReply, token: string) =>
      reply.setCookie(DEVICE_COOKIE, token, { ...base, maxAge: DEVICE_COOKIE_MAX_AGE_S }),
  }
}

/**
 * The refresh token's cookie: HttpOnly, SameSite=Strict, sent only to the auth routes, `Secure`
 * and `Domain` from config. Non-browser clients may send the token in the body instead.
 */
export function refreshCookie(config: AuthConfig) {
  const base = authCookieScope(config)
  return {
    set: (reply: FastifyReply, refresh: IssuedRefresh) =>
      reply.setCookie(REFRESH_COOKIE, refresh.token, { ...base, maxAge: refresh.maxAgeSeconds }),
    clear: (reply: FastifyReply) => reply.clearCookie(REFRESH_COOKIE, base),
    /** The cookie wins over the body, as the contract says. */
    read: (req: FastifyRequest, body: { refreshToken?: string }): string | undefined =>
      req.cookies[REFRESH_COOKIE] || body.refreshToken || undefined,
  }
}
