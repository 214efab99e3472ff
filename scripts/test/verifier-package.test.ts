import { type ChildProcessByStdio, spawn } from 'node:child_process'
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import {
  type BuiltServer,
  buildServices,
  createTestDatabase,
  edKeyPair,
  freePort,
  privatePem,
  publicPem,
  startBuiltServer,
  type TestDatabase,
} from '@bio/service-kit/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { registerOverHttp } from './built-server.js'
import { installPacked } from './packed-install.js'

/**
 * @bio/token-verifier outside this workspace: `pnpm pack`, installed from the tarball (with the
 * packed @bio/contracts it depends on) into an empty temporary folder (offline, from the pnpm
 * store), then used by a plain node:http server and by a small Fastify app, each its own process, to verify real tokens of the built auth service (EdDSA,
 * its JWKS and its public key PEM).
 */

let dir: string
let authDb: TestDatabase
let auth: BuiltServer
const signing = edKeyPair()
const consumers: ChildProcessByStdio<null, Readable, Readable>[] = []

const HTTP_SERVER = `
import { createServer } from 'node:http'
import { bearerToken, createAccessTokenVerifier, isAccessTokenError } from '@bio/token-verifier'

const verifyAccessToken = createAccessTokenVerifier({
  issuer: 'bio-re-auth',
  audience: 'bio-re-api',
  jwks: { url: process.env.JWKS_URL },
})
await verifyAccessToken.ready()
const server = createServer(async (req, res) => {
  try {
    const claims = await verifyAccessToken(bearerToken(req.headers.authorization) ?? '')
    res.end(JSON.stringify({ userId: claims.sub }))
  } catch (err) {
    if (!isAccessTokenError(err)) throw err
    res.writeHead(err.statusCode, { ...err.headers, 'content-type': 'application/json' })
    res.end(JSON.stringify(err.toEnvelope('plain-http')))
  }
}).listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: server.address().port })))
`

const FASTIFY_APP = `
import Fastify from 'fastify'
import { accessTokenPlugin } from '@bio/token-verifier'

const app = Fastify()
await app.register(accessTokenPlugin, {
  issuer: 'bio-re-auth',
  audience: 'bio-re-api',
  publicKeys: [process.env.PUBLIC_KEY],
})
app.get('/whoami', { preHandler: app.requireAuth }, async (req) => ({ userId: req.auth.sub }))
await app.listen({ port: 0, host: '127.0.0.1' })
console.log(JSON.stringify({ port: app.server.address().port }))
`

beforeAll(async () => {
  buildServices()
  dir = installPacked('token-verifier-consumer', ['shared/contracts', 'shared/token-verifier'], {
    fastify: '5.12.8',
  })
  writeFileSync(join(dir, 'http-server.mjs'), HTTP_SERVER)
  writeFileSync(join(dir, 'fastify-app.mjs'), FASTIFY_APP)
  authDb = await createTestDatabase('packaged')
  auth = await startBuiltServer('auth', {
    port: await freePort(),
    env: {
      NODE_ENV: 'production',
      LOGIN_THROTTLE_SECRET: 'verifier-package-throttle-secret-32-bytes!!',
      // Production requires SMTP; nothing listens here, so queued mail just waits in the outbox.
      SMTP_URL: 'smtp://127.0.0.1:9',
      LOG_LEVEL: 'warn',
      RATE_LIMIT_ENABLED: 'false',
      OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0',
      AUTH_DATABASE_URL: authDb.url,
      JWT_ALGORITHM: 'EdDSA',
      JWT_PRIVATE_KEY: privatePem(signing.privateKey),
    },
  })
}, 180_000)
afterAll(async () => {
  for (const c of consumers) c.kill('SIGTERM')
  await auth?.stop()
  await authDb?.drop()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

/** Starts a consumer script and resolves with its port once it prints it. */
function startConsumer(file: string, env: Record<string, string>): Promise<string> {
  const child = spawn(process.execPath, [file], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  consumers.push(child)
  const errors: string[] = []
  child.stderr.on('data', (c: Buffer) => errors.push(c.toString()))
  return new Promise((resolve, reject) => {
    child.stdout.once('data', (c: Buffer) => resolve(`http://127.0.0.1:${JSON.parse(c.toString()).port}`))
    child.once('exit', (code) => reject(new Error(`${file} exited ${code}: ${errors.join('')}`)))
  })
}

const registeredToken = () => registerOverHttp(auth.base)

describe('the packed verifier, installed outside the workspace', () => {
  it('ships built JavaScript, types and its README, and depends on no workspace package but @bio/contracts', () => {
    const installed = join(dir, 'node_modules/@bio/token-verifier')
    const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8'))
    expect(Object.keys(manifest.dependencies).sort()).toEqual([
      '@bio/contracts',
      '@fastify/jwt',
      '@sinclair/typebox',
      'fast-jwt',
      'fastify-plugin',
    ])
    expect(JSON.stringify(manifest)).not.toMatch(/workspace:|@bio\/service-kit|src\/index\.ts/)
    expect(readdirSync(installed).sort()).toEqual(['README.md', 'dist', 'package.json'])
    expect(readFileSync(join(installed, 'README.md'), 'utf8')).toContain('createAccessTokenVerifier')
  })

  it('a plain node:http server verifies auth tokens through the JWKS and refuses others in the envelope', async () => {
    const base = await startConsumer('http-server.mjs', { JWKS_URL: `${auth.base}/.well-known/jwks.json` })
    const user = await registeredToken()
    const ok = await fetch(base, { headers: { authorization: `Bearer ${user.accessToken}` } })
    expect(ok.status).toBe(200)
    expect(await ok.json()).toEqual({ userId: user.userId })
    const forged = `${user.accessToken.slice(0, -4)}AAAA`
    const refused = await fetch(base, { headers: { authorization: `Bearer ${forged}` } })
    expect(refused.status).toBe(401)
    expect(refused.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_token"/)
    expect(((await refused.json()) as { error: unknown }).error).toMatchObject({
      code: 'AUTH_UNAUTHORIZED',
      i18nKey: 'auth.token.invalid',
    })
  })

  it('a small Fastify app verifies auth tokens with the public key PEM and answers 401 in the envelope', async () => {
    const base = await startConsumer('fastify-app.mjs', { PUBLIC_KEY: publicPem(signing.publicKey) })
    const user = await registeredToken()
    const ok = await fetch(`${base}/whoami`, { headers: { authorization: `Bearer ${user.accessToken}` } })
    expect(ok.status).toBe(200)
    expect(await ok.json()).toEqual({ userId: user.userId })
    for (const headers of [{}, { authorization: 'Bearer not.a.token' }] as Record<string, string>[]) {
      const refused = await fetch(`${base}/whoami`, { headers })
      expect(refused.status).toBe(401)
      expect(refused.headers.get('www-authenticate')).toMatch(/^Bearer/)
      const body = (await refused.json()) as { success: boolean; error: Record<string, unknown> }
      expect(body.success).toBe(false)
      expect(body.error.code).toBe('AUTH_UNAUTHORIZED')
      expect(typeof body.error.correlationId).toBe('string')
    }
  })
})
