/** Where the auth API is mounted; the refresh and known-device cookies are scoped to it. */
export const AUTH_PREFIX = '/api/v1/auth'
