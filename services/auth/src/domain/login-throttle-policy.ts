/**
 * The sign-in throttle's rules, as pure functions over the two counters every attempt touches:
 * one per (e-mail, client network), tight, and one per e-mail, loose. A sign-in from a known
 * device (known-device.ts) uses a counter per (e-mail, device) in place of the network's, and
 * skips the e-mail's delay. Both exist whether or not an account has that e-mail, so the answers
 * and their cost never tell the two apart.
 *
 * - network counter: `networkMaxFailures` attempts in a row lock that e-mail for that network for
 *   `networkLockSeconds`. Another network is not affected: the owner elsewhere still signs in.
 * - e-mail counter: past `emailFreeFailures`, each attempt makes the next one from any untrusted
 *   network wait 1, 2, 4 … seconds, at most `emailMaxDelaySeconds`. A network where the right
 *   password was given recently is trusted and skips this delay (not the network lock).
 * - nothing is a hard lock: every refusal ends by itself, at most max(lock, delay) later.
 * - a refusal for the e-mail's delay counts on the network's counter: polling through it locks
 *   the network.
 * - a counter with no attempt for `memorySeconds` starts again from zero.
 *
 * An attempt is counted before the password is checked (so parallel guesses cannot slip past the
 * limit) and credited back when it succeeds.
 */
export interface LoginThrottlePolicy {
  networkMaxFailures: number
  networkLockSeconds: number
  emailFreeFailures: number
  emailMaxDelaySeconds: number
  memorySeconds: number
  trustedNetworkSeconds: number
}

export type ThrottleScope = 'network' | 'email'

/** One counter, as stored in `login_throttles`. */
export interface ThrottleCounter {
  key: string
  scope: ThrottleScope
  emailKey: string
  failures: number
  lastFailedAt: Date | null
  blockedUntil: Date | null
  trustedUntil: Date | null
  expiresAt: Date
}

export type AttemptDecision =
  | { allowed: true; network: ThrottleCounter; email: ThrottleCounter }
  /** `network`, when present, is the network's counter with the refused attempt counted. */
  | { allowed: false; retryAfterSeconds: number; network?: ThrottleCounter }

const SECOND = 1000
const after = (at: Date, seconds: number) => new Date(at.getTime() + seconds * SECOND)
const isAfter = (d: Date | null, now: Date): d is Date => d !== null && d.getTime() > now.getTime()
const latest = (...dates: (Date | null)[]) => new Date(Math.max(...dates.map((d) => (d ? d.getTime() : 0))))

/** A counter untouched for `memorySeconds` has forgotten its failures. */
function remembered(policy: LoginThrottlePolicy, c: ThrottleCounter, now: Date): number {
  if (c.lastFailedAt && c.lastFailedAt.getTime() <= now.getTime() - policy.memorySeconds * SECOND) return 0
  return c.failures
}

/** When the row stops meaning anything and may be pruned. */
function expiry(policy: LoginThrottlePolicy, c: Omit<ThrottleCounter, 'expiresAt'>, now: Date): Date {
  return latest(after(c.lastFailedAt ?? now, policy.memorySeconds), c.blockedUntil, c.trustedUntil)
}

const retryAfter = (until: Date, now: Date) =>
  Math.max(1, Math.ceil((until.getTime() - now.getTime()) / SECOND))

/** The network's (or device's) counter with one more attempt: the last of a row locks it. */
function countOnNetwork(policy: LoginThrottlePolicy, network: ThrottleCounter, now: Date): ThrottleCounter {
  const failures = remembered(policy, network, now) + 1
  const locks = failures >= policy.networkMaxFailures
  const next = {
    ...network,
    failures: locks ? 0 : failures,
    lastFailedAt: now,
    blockedUntil: locks ? after(now, policy.networkLockSeconds) : null,
  }
  return { ...next, expiresAt: expiry(policy, next, now) }
}

/**
 * Decides one attempt; when allowed, returns both counters with the attempt counted. The first
 * counter is the network's, or the device's for a sign-in with a valid known-device token
 * (`knownDevice`): that one skips the e-mail's delay, like a trusted network.
 */
export function decideAttempt(
  policy: LoginThrottlePolicy,
  network: ThrottleCounter,
  email: ThrottleCounter,
  now: Date,
  knownDevice = false,
): AttemptDecision {
  if (isAfter(network.blockedUntil, now)) {
    return { allowed: false, retryAfterSeconds: retryAfter(network.blockedUntil, now) }
  }
  if (isAfter(email.blockedUntil, now) && !knownDevice && !isAfter(network.trustedUntil, now)) {
    // Counted on the network: polling through the delay costs the attempts it would have.
    const counted = countOnNetwork(policy, network, now)
    const until = latest(email.blockedUntil, counted.blockedUntil)
    return { allowed: false, retryAfterSeconds: retryAfter(until, now), network: counted }
  }

  const nextNetwork = countOnNetwork(policy, network, now)

  const emailFailures = remembered(policy, email, now) + 1
  const over = emailFailures - policy.emailFreeFailures
  const delay = over > 0 ? Math.min(2 ** Math.min(over - 1, 30), policy.emailMaxDelaySeconds) : 0
  const nextEmail = {
    ...email,
    failures: emailFailures,
    lastFailedAt: now,
    blockedUntil: delay > 0 ? after(now, delay) : email.blockedUntil,
  }
  return {
    allowed: true,
    network: nextNetwork,
    email: { ...nextEmail, expiresAt: expiry(policy, nextEmail, now) },
  }
}

/**
 * The right password was given: the network's counter and lock are cleared and the network is
 * trusted; the e-mail's counter gets this attempt back (its delay stays for other networks).
 */
export function creditSuccess(
  policy: LoginThrottlePolicy,
  network: ThrottleCounter,
  email: ThrottleCounter,
  now: Date,
): { network: ThrottleCounter; email: ThrottleCounter } {
  const nextNetwork = {
    ...network,
    failures: 0,
    blockedUntil: null,
    trustedUntil: policy.trustedNetworkSeconds > 0 ? after(now, policy.trustedNetworkSeconds) : null,
  }
  const nextEmail = { ...email, failures: Math.max(0, email.failures - 1) }
  return {
    network: { ...nextNetwork, expiresAt: expiry(policy, nextNetwork, now) },
    email: { ...nextEmail, expiresAt: expiry(policy, nextEmail, now) },
  }
}
