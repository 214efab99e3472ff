import { describe, expect, it } from 'vitest'
import { TokenResult } from '../src/schemas/auth.js'

describe('TokenResult.accessToken describes the token auth really issues', () => {
  it('names every signing algorithm (JWT_ALGORITHM) and the at+jwt type, not HS256 alone', () => {
    const description = TokenResult.properties.accessToken.description ?? ''
    for (const alg of ['HS256', 'EdDSA', 'ES256']) expect(description).toContain(alg)
    expect(description).toContain('at+jwt')
    expect(description).toContain('Authorization: Bearer')
  })
})
