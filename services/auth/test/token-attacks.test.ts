import { rowsOf } from '@bio/service-kit'
import {
  edKeyPair,
  publicPem,
  type TokenAttackContext,
  tokenAttacks,
  validToken,
} from '@bio/service-kit/testing'
import { sql } from 'drizzle-orm'
import { beforeAll, describe, expect, it } from 'vitest'
import { expectError, me, registerUser, TEST_SECRET, useAuthHarness } from './helper.js'

/**
 * The shared attack suite on /me (services/analytics/test/token-attacks.test.ts runs it on
 * identify). auth also holds a verify-only Ed25519 public key here, as during a move to EdDSA.
 */

let ctx: TokenAttackContext

const rowCounts = async () =>
  rowsOf(
    await h.database.db.execute(
      sql`select (select count(*)::int from users) as users, (select count(*)::int from refresh_sessions) as sessions`,
    ),
  )

const edKeys = edKeyPair()
const h = useAuthHarness({ app: { env: { JWT_VERIFY_PUBLIC_KEYS: publicPem(edKeys.publicKey) } } })

beforeAll(async () => {
  const user = await registerUser(h.app)
  ctx = { secret: TEST_SECRET, issuer: 'bio-re-auth', audience: 'bio-re-api', subject: user.userId, edKeys }
})

describe('/me refuses every forged access token', () => {
  it('(control) accepts a well-formed token signed with the shared key', async () => {
    const res = await me(h.app, validToken(ctx))
    expect(res.statusCode, res.body).toBe(200)
    expect(res.json().data.id).toBe(ctx.subject)
  })

  it('refuses each case with a 401 in the envelope, writing nothing', async () => {
    const before = JSON.stringify(await rowCounts())
    const cases = tokenAttacks(ctx)
    expect(cases.length).toBeGreaterThan(25)
    for (const [name, token, key] of cases) {
      const res = await me(h.app, token)
      const error = expectError(res, 401, 'AUTH_UNAUTHORIZED')
      expect(error.i18nKey, name).toBe(key ?? 'auth.token.invalid')
      expect(res.headers['www-authenticate'], name).toMatch(/^Bearer error="invalid_token"/)
      expect(res.body, name).not.toMatch(/fast-jwt|FST_JWT|signature|kid/i)
    }
    expect(JSON.stringify(await rowCounts())).toBe(before)
  })
})
