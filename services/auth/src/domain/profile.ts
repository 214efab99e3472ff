import { AppError, CommonErrors } from '@bio/contracts'
import { usersRepository } from '../db/users-repository.js'
import type { MeResult } from '../schemas/auth.js'
import type { AuthDeps } from './context.js'

/** The signed-in user's profile, the contract's `/me` shape. A token of a deleted row is 401. */
export async function getProfile(deps: AuthDeps, userId: string): Promise<MeResult> {
  const user = await usersRepository(deps.db).findById(userId)
  if (!user) throw new AppError(CommonErrors.AUTH_UNAUTHORIZED)
  return {
    id: user.id,
    email: user.email,
    username: user.username,
    displayName: user.displayName,
    avatarUrl: user.avatarUrl,
    status: user.status,
    emailVerified: user.emailVerified,
  }
}
