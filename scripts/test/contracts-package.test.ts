import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { verifyTrackingToken } from '@bio/contracts'
import { buildServices } from '@bio/service-kit/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { installPacked } from './packed-install.js'

/**
 * @bio/contracts outside this workspace, as a page renderer or a third service takes it: packed,
 * installed offline into an empty folder with TypeBox as its only company (no Fastify, no
 * database driver), then imported by plain node to build the envelopes, an AppError body and a
 * tracking token the analytics service accepts.
 */

const SECRET = 'contracts-package-tracking-secret-32-bytes'
const PAGE_ID = '0190f5a0-3b7c-7cc1-9a55-2c1b4a3f9e10'
const NOW = Date.UTC(2026, 0, 15, 12, 0, 0)
let dir: string

/** What a server must never bring along; none of it may be in the consumer's node_modules. */
const SERVER_PACKAGES = [
  'fastify',
  '@fastify/swagger',
  'fastify-plugin',
  'postgres',
  'pg',
  '@electric-sql/pglite',
  'drizzle-orm',
  'ioredis',
  'maxmind',
  'prom-client',
  'fast-jwt',
]

const CONSUMER = `
import { Type } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import {AppError, CommonErrors, createTrackingToken, defineErrors, ErrorEnvelope, errorBody, successSchema, successBody, Uuid, verifyTrackingToken} from '@bio/contracts'

const [secret, pageId, now] = process.argv.slice(2)
const PageErrors = defineErrors({
  PAGE_GONE: { status: 410, message: 'This page was removed', i18nKey: 'page.gone' },
})
const gone = errorBody(new AppError(PageErrors.PAGE_GONE, { i18nVars: { page: 'demo' } }), 'render-1')
const notFound = errorBody(new AppError(CommonErrors.NOT_FOUND), 'render-2')
const data = successBody({ id: pageId })
const token = createTrackingToken(secret, pageId, Number(now))
console.log(JSON.stringify({
  gone,
  notFound,
  data,
  token,
  goneIsEnvelope: Value.Check(ErrorEnvelope, gone),
  dataIsEnvelope: Value.Check(successSchema(Type.Object({ id: Uuid() })), data),
  verifiesNow: verifyTrackingToken(secret, pageId, token, Number(now)),
  verifiesForged: verifyTrackingToken(secret, pageId, token.replace(/.$/, (c) => (c === '0' ? '1' : '0')), Number(now)),
})
)
`

interface ConsumerOutput {
  gone: unknown
  notFound: unknown
  data: unknown
  token: string
  goneIsEnvelope: boolean
  dataIsEnvelope: boolean
  verifiesNow: boolean
  verifiesForged: boolean
}

let output: ConsumerOutput

beforeAll(() => {
  // The packed package ships dist/, which the build writes.
  buildServices()
  dir = installPacked('contracts-consumer', ['shared/contracts'], { '@sinclair/typebox': '0.34.52' })
  writeFileSync(join(dir, 'consumer.mjs'), CONSUMER)
  const stdout = execFileSync(process.execPath, ['consumer.mjs', SECRET, PAGE_ID, String(NOW)], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '' },
  })
  output = JSON.parse(stdout.toString())
}, 120_000)
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true })
})

describe('the packed contracts package, installed with no Fastify and no database driver', () => {
  it('depends on TypeBox only and ships built JavaScript, types and its README', () => {
    const installed = join(dir, 'node_modules/@bio/contracts')
    const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8'))
    expect(Object.keys(manifest.dependencies)).toEqual(['@sinclair/typebox'])
    expect(manifest.peerDependencies).toBeUndefined()
    expect(JSON.stringify(manifest)).not.toMatch(/workspace:|src\/index\.ts/)
    expect(readdirSync(installed).sort()).toEqual(['README.md', 'dist', 'package.json'])
    expect(readFileSync(join(installed, 'README.md'), 'utf8')).toContain('createTrackingToken')
  })

  it('brings no server package into node_modules, and its types name none', () => {
    const store = readdirSync(join(dir, 'node_modules/.pnpm'))
    for (const pkg of SERVER_PACKAGES) {
      expect(existsSync(join(dir, 'node_modules', pkg)), pkg).toBe(false)
      expect(
        store.filter((entry) => entry.startsWith(`${pkg.replace('/', '+')}@`)),
        pkg,
      ).toEqual([])
    }
    const types = readdirSync(join(dir, 'node_modules/@bio/contracts/dist'), { recursive: true })
      .map(String)
      .filter((f) => f.endsWith('.d.ts'))
    expect(types).toContain('index.d.ts')
    for (const file of types) {
      const text = readFileSync(join(dir, 'node_modules/@bio/contracts/dist', file), 'utf8')
      expect(text, file).not.toMatch(/from ['"](fastify|@fastify\/|postgres|drizzle-orm)/)
    }
  })

  it('builds the error envelope of a catalogue entry and of a service-defined error', () => {
    expect(output.notFound).toEqual({
      success: false,
      error: {
        code: 'NOT_FOUND',
        message: 'Route not found',
        i18nKey: 'common.not_found',
        correlationId: 'render-2',
      },
    })
    expect(output.gone).toEqual({
      success: false,
      error: {
        code: 'PAGE_GONE',
        message: 'This page was removed',
        i18nKey: 'page.gone',
        i18nVars: { page: 'demo' },
        correlationId: 'render-1',
      },
    })
    expect(output.goneIsEnvelope).toBe(true)
  })

  it('builds the success envelope its schema accepts', () => {
    expect(output.data).toEqual({ success: true, data: { id: PAGE_ID } })
    expect(output.dataIsEnvelope).toBe(true)
  })

  it('makes a tracking token that verifies there and in the workspace, and refuses a forged one', () => {
    expect(output.token).toMatch(/^[0-9a-f]{32}$/)
    expect(output.verifiesNow).toBe(true)
    expect(output.verifiesForged).toBe(false)
    expect(verifyTrackingToken(SECRET, PAGE_ID, output.token, NOW)).toBe(true)
    expect(verifyTrackingToken(`${SECRET}-other`, PAGE_ID, output.token, NOW)).toBe(false)
  })
})
