import { AppError } from '@bio/contracts'
import { clientNetwork } from '@bio/service-kit'
import { type CounterKey, loginThrottlesRepository } from '../db/login-throttles-repository.js'
import { AuthErrors } from '../errors.js'
import type { AuthDeps } from './context.js'
import { emailKeyOf, keyed, knownDeviceId } from './known-device.js'
import { type AttemptDecision, creditSuccess, decideAttempt } from './login-throttle-policy.js'

/**
 * The two counters an attempt for `email` touches (see login-throttle-policy.ts): the e-mail's,
 * and the one of the client network `ip`, or instead the device's when `deviceToken` is a valid
 * known-device token for this e-mail (stored with scope `network`: it plays that counter's part).
 */
export interface ThrottleKeys {
  network: CounterKey
  email: CounterKey
  knownDevice: boolean
}

export function throttleKeys(secret: string, email: string, ip: string, deviceToken?: string): ThrottleKeys {
  const emailKey = emailKeyOf(secret, email)
  const device = knownDeviceId(secret, email, deviceToken)
  const first = device
    ? keyed(secret, 'device', emailKey, device)
    : keyed(secret, 'network', emailKey, clientNetwork(ip))
  return {
    network: { key: first, scope: 'network', emailKey },
    email: { key: emailKey, scope: 'email', emailKey },
    knownDevice: device !== undefined,
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

  /**
   * Counts one attempt before the password is checked, or refuses it. A refusal for the e-mail's
   * delay still counts on the network's counter (a network polling through the delay locks
   * itself); a refusal for a locked network or device writes nothing.
   */
  async function takeAttempt(keys: ThrottleKeys, now: Date): Promise<AttemptDecision> {
    const decision = await deps.db.transaction(async (tx) => {
      const repo = loginThrottlesRepository(tx)
      const [network, email] = await repo.lock([keys.network, keys.email], now)
      const decided = decideAttempt(policy, network, email, now, keys.knownDevice)
      if (decided.allowed) await repo.save([decided.network, decided.email])
      else if (decided.network) await repo.save([decided.network])
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
  await loginThrottlesRepository(db).deleteForEmail(emailKeyOf(secret, email))
}
