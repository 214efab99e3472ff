import { randomUUID } from 'node:crypto'
import {
  edKeyPair,
  publicPem,
  type TokenAttackContext,
  tokenAttacks,
  validToken,
} from '@bio/service-kit/testing'
import { describe, expect, it } from 'vitest'
import {
  createSession,
  expectError,
  expectOk,
  identify,
  rowCounts,
  sessionRow,
  TEST_SECRET,
  useAnalyticsHarness,
} from './helper.js'

/**
 * The shared attack suite (kids, key-choosing headers, typ, lifetimes, spellings, confusion) on
 * identify. The verifier also holds an Ed25519 public key, so kid and algorithm confusion between
 * two real keys is exercised. services/auth/test/token-attacks.test.ts runs the same cases on /me.
 */

const ctx: TokenAttackContext = {
  secret: TEST_SECRET,
  issuer: 'bio-re-auth',
  audience: 'bio-re-api',
  subject: randomUUID(),
  edKeys: edKeyPair(),
}

const h = useAnalyticsHarness({ app: { env: { JWT_PUBLIC_KEYS: publicPem(ctx.edKeys.publicKey) } } })

describe('identify refuses every forged access token', () => {
  it('(control) accepts a well-formed token signed with the shared key', async () => {
    const id = await createSession(h.app)
    expectOk(await identify(h.app, id, `Bearer ${validToken(ctx)}`))
    expect((await sessionRow(h, id))!.userId).toBe(ctx.subject)
  })

  it.each(tokenAttacks(ctx))(
    '%s → 401 in the envelope, the session stays anonymous',
    async (_name, token, key) => {
      const id = await createSession(h.app)
      const before = await rowCounts(h)
      const res = await identify(h.app, id, `Bearer ${token}`)
      const error = expectError(res, 401, 'AUTH_UNAUTHORIZED')
      expect(error.i18nKey).toBe(key ?? 'auth.token.invalid')
      expect(res.headers['www-authenticate']).toMatch(/^Bearer error="invalid_token"/)
      expect(res.body).not.toMatch(/fast-jwt|FST_JWT|signature|kid/i)
      expect((await sessionRow(h, id))!.userId).toBeNull()
      expect(await rowCounts(h)).toEqual(before)
    },
  )
})
