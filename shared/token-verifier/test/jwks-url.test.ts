import { describe, expect, it } from 'vitest'
import { createAccessTokenVerifier, jwksUrlProblem } from '../src/index.js'

/** No network: every fetch a verifier starts fails at once (the cache keeps no keys). */
const offline = (async () => {
  throw new Error('offline')
}) as typeof globalThis.fetch
const verifierAt = (url: string, allowInsecureHttp?: boolean) =>
  createAccessTokenVerifier({
    issuer: 'bio-re-auth',
    audience: 'bio-re-api',
    jwks: { url, fetch: offline, allowInsecureHttp, onError: () => {} },
  })

describe('a JWKS URL must be https:, or http: only to a loopback host', () => {
  it.each([
    'https://auth.example/.well-known/jwks.json',
    'http://127.0.0.1:3001/.well-known/jwks.json',
    'http://127.10.20.30/jwks',
    'http://127.1/jwks',
    'http://[::1]:3001/jwks',
    'http://localhost:3001/jwks',
    'http://LOCALHOST./jwks',
  ])('accepts %s', (url) => {
    expect(jwksUrlProblem(url)).toBeUndefined()
    expect(() => verifierAt(url)).not.toThrow()
  })

  it.each([
    ['http://auth.internal:3001/.well-known/jwks.json', /must be an https: URL/],
    ['http://10.0.0.7/jwks', /must be an https: URL/],
    ['http://128.0.0.1/jwks', /must be an https: URL/],
    ['http://127.0.0.1.evil.example/jwks', /must be an https: URL/],
    ['http://localhost.evil.example/jwks', /must be an https: URL/],
    ['http://[::ffff:7f00:1]/jwks', /must be an https: URL/],
    ['ftp://auth.example/jwks', /not ftp:/],
    ['file:///etc/jwks.json', /not file:/],
    ['auth.example/jwks', /not a valid URL/],
  ])('refuses %s when the verifier is created, with a clear message', (url, message) => {
    expect(jwksUrlProblem(url)).toMatch(message)
    expect(() => verifierAt(url)).toThrow(TypeError)
    expect(() => verifierAt(url)).toThrow(/^JWKS URL /)
  })

  it('allowInsecureHttp accepts http: to any host (development), never another scheme', () => {
    expect(() => verifierAt('http://auth:3001/.well-known/jwks.json', true)).not.toThrow()
    expect(() => verifierAt('file:///etc/jwks.json', true)).toThrow(/not file:/)
  })
})
