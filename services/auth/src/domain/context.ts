import type { Db, GeoLookup } from '@bio/service-kit'
import type { FastifyBaseLogger } from 'fastify'
import type { AuthConfig } from '../config.js'
import type { AuthSchema } from '../db/schema.js'
import type { AccessTokenSigner } from '../tokens/access-token-signer.js'
import type { PasswordHasher } from './password-hasher.js'

/** What the domain needs from the outside world; tests swap the clock and the hasher. */
export interface AuthDeps {
  db: Db<AuthSchema>
  config: AuthConfig
  hasher: PasswordHasher
  /** Registration country from the client IP; the IP itself is never stored. */
  geo: GeoLookup
  sign: AccessTokenSigner
  now: () => Date
  log: FastifyBaseLogger
  /** Tells the mail sender that a commit queued mail; it delivers without waiting for its poll. */
  wakeMailer: () => void
}

/** Facts about the caller taken from the request, never from the body. */
export interface RequestContext {
  ip: string
  userAgent: string | undefined
  acceptLanguage: string | undefined
  /** The request's logger (its lines carry the correlation id); `deps.log` when absent. */
  log?: FastifyBaseLogger
  /** The request's correlation id, recorded with its audit events. */
  correlationId?: string
  /** The known-device cookie the client sent, if any (see known-device.ts). */
  deviceToken?: string
}

/** A refresh token to hand to the client (cookie or body), with its lifetime. */
export interface IssuedRefresh {
  token: string
  maxAgeSeconds: number
}

export interface IssuedTokens {
  accessToken: string
  expiresIn: number
  refresh: IssuedRefresh
}

/** Tokens of a client that proved the account (password or refresh token), with its known-device token. */
export interface SignedIn extends IssuedTokens {
  device: string
}
