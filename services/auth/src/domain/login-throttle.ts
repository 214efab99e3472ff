import { createHmac } from 'node:crypto'
import { AppError } from '@bio/shared'
import { type CounterKey, loginThrottlesRepository } from '../db/login-throttles-repository.js'
import { AuthErrors } from '../errors.js'
import { clientNetwork } from '../lib/client-info.js'
import { normalizeEmail } from '../lib/email-policy.js'
import type { AuthDeps } from './context.js'
import { type AttemptDecision, creditSuccess, decideAttempt } from './login-throttle-policy.js'

/** HMAC-SHA256 under LOGIN_THROTTLE_SECRET: without the secret a key cannot be matched to an e-mail. */
const keyed = (secret: string, ...parts: string[]) =>
  createHmac('sha256', secret).update(parts.join('\n')).digest('hex')

/** The two counters an attempt for `email` from `ip` touches (see login-throttle-policy.ts). */
export interface ThrottleKeys {
  network: CounterKey
  email: CounterKey
}

export function throttleKeys(secret: string, email: string, ip: string): ThrottleKeys {
  const normalized = normalizeEmail(email)
  const emailKey = keyed(secret, 'email', normalized)
  return {
    network: { key: keyed(secret, 'network', normalized, clientNetwork(ip)), scope: 'network', emailKey },
    email: { key: emailKey, scope: 'email', emailKey },
  }
}

/** The answer to an attempt the throttle refuses (sign-in, or a password change). */
export const accountLocked = (retryAfterSeconds: number) =>
  new AppError(AuthErrors.ACCOUNT_LOCKED, {
    i18nVars: { retryAfterSeconds },
    headers: { 'retry-after': String(retryAfterSeconds) },
  })

/** How many counted attempts pass between two prunes of expired counters (per instance). */
const PRUNE_EVERY = 200
const PRUNE_BATCH = 1000

/** The sign-in throttle over PostgreSQL: every instance sees the same counters. */
export function createLoginThrottle(deps: Pick<AuthDeps, 'db' | 'config' | 'log'>) {
  const policy = deps.config.loginThrottle
  let sincePrune = 0

  /** Counts one attempt before the password is checked, or refuses it (nothing is written then). */
  async function takeAttempt(keys: ThrottleKeys, now: Date): Promise<AttemptDecision> {
    const decision = await deps.db.transaction(async (tx) => {
      const repo = loginThrottlesRepository(tx)
      const [network, email] = await repo.lock([keys.network, keys.email], now)
      const decided = decideAttempt(policy, network, email, now)
      if (decided.allowed) await repo.save([decided.network, decided.email])
      return decided
    })
    if (decision.allowed && ++sincePrune >= PRUNE_EVERY) {
      sincePrune = 0
      await loginThrottlesRepository(deps.db).pruneExpired(now, PRUNE_BATCH)
    }
    return decision
  }

  /** The attempt succeeded: inside the sign-in's transaction, so both commit together. */
  async function recordSuccess(tx: AuthDeps['db'], keys: ThrottleKeys, now: Date): Promise<void> {
    const repo = loginThrottlesRepository(tx)
    const [network, email] = await repo.lock([keys.network, keys.email], now)
    const credited = creditSuccess(policy, network, email, now)
    await repo.save([credited.network, credited.email])
  }

  return { takeAttempt, recordSuccess }
}
export type LoginThrottle = ReturnType<typeof createLoginThrottle>

/**
 * Forgets every sign-in failure of an e-mail, on every network: what completing a password reset
 * does (the mailbox's owner has proved themselves). Pass the transaction of that change.
 */
export async function clearLoginFailures(db: AuthDeps['db'], secret: string, email: string): Promise<void> {
  await loginThrottlesRepository(db).deleteForEmail(throttleKeys(secret, email, '').email.emailKey)
}
