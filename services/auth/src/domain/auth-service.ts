import type { LoginBody, RegisterBody } from '@bio/shared'
import type { AuthDeps, RequestContext } from './context.js'
import { createLogin } from './login.js'
import { clearLoginFailures } from './login-throttle.js'
import { getProfile } from './profile.js'
import { register } from './registration.js'
import { logout, rotateRefreshToken } from './token-rotation.js'

/** The auth domain's verbs, bound to their dependencies. Routes call exactly one of these. */
export function createAuthService(deps: AuthDeps) {
  const { login, warmUp } = createLogin(deps)
  return {
    warmUp,
    register: (input: RegisterBody, ctx: RequestContext) => register(deps, input, ctx),
    login: (input: LoginBody, ctx: RequestContext) => login(input, ctx),
    refresh: (token: string | undefined, ctx: RequestContext) => rotateRefreshToken(deps, token, ctx),
    logout: (token: string | undefined) => logout(deps, token),
    me: (userId: string) => getProfile(deps, userId),
    /** Forgets the e-mail's sign-in failures everywhere (password reset); `db` may be its transaction. */
    clearLoginFailures: (email: string, db: AuthDeps['db'] = deps.db) => clearLoginFailures(db, email),
  }
}
export type AuthService = ReturnType<typeof createAuthService>
