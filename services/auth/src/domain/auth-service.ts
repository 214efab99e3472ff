import type { LoginBody, RegisterBody } from '../schemas/auth.js'
import type { AuthDeps, RequestContext } from './context.js'
import { resendVerification, verifyEmail } from './email-verification.js'
import { createLogin } from './login.js'
import { clearLoginFailures } from './login-throttle.js'
import { type Caller, changePassword } from './password-change.js'
import { forgotPassword, resetPassword } from './password-reset.js'
import { getProfile } from './profile.js'
import { register } from './registration.js'
import { listSessions, revokeOtherSessions, revokeSession } from './sessions.js'
import { logout, rotateRefreshToken } from './token-rotation.js'

/** The auth domain's verbs, bound to their dependencies. Routes call exactly one of these. */
export function createAuthService(deps: AuthDeps) {
  const { login, warmUp } = createLogin(deps)
  return {
    warmUp,
    register: (input: RegisterBody, ctx: RequestContext) => register(deps, input, ctx),
    login: (input: LoginBody, ctx: RequestContext) => login(input, ctx),
    refresh: (token: string | undefined, ctx: RequestContext) => rotateRefreshToken(deps, token, ctx),
    logout: (token: string | undefined, ctx: RequestContext) => logout(deps, token, ctx),
    me: (userId: string) => getProfile(deps, userId),
    /** Forgets the e-mail's sign-in failures everywhere (password reset); `db` may be its transaction. */
    clearLoginFailures: (email: string, db: AuthDeps['db'] = deps.db) =>
      clearLoginFailures(db, deps.config.loginThrottleSecret, email),
    verifyEmail: (token: string, ctx: RequestContext) => verifyEmail(deps, token, ctx),
    resendVerification: (email: string) => resendVerification(deps, email),
    forgotPassword: (email: string, ctx: RequestContext) => forgotPassword(deps, email, ctx),
    resetPassword: (token: string, newPassword: string, ctx: RequestContext) =>
      resetPassword(deps, token, newPassword, ctx),
    changePassword: (
      caller: Caller,
      input: { currentPassword: string; newPassword: string },
      ctx: RequestContext,
    ) => changePassword(deps, caller, input, ctx),
    listSessions: (caller: Caller) => listSessions(deps, caller),
    revokeSession: (caller: Caller, id: string, ctx: RequestContext) => revokeSession(deps, caller, id, ctx),
    revokeOtherSessions: (caller: Caller, ctx: RequestContext) => revokeOtherSessions(deps, caller, ctx),
  }
}
export type AuthService = ReturnType<typeof createAuthService>
