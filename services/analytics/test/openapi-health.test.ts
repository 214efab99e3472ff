import { beforeAll, describe, expect, it } from 'vitest'
import { A, useAnalyticsHarness } from './helper.js'

const h = useAnalyticsHarness()

describe('health', () => {
  it('GET /readyz → 200 { status: ready } when the database answers', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/readyz' })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({ success: true, data: { status: 'ready' } })
  })
})

describe('GET /openapi.json', () => {
  type Operation = {
    operationId?: string
    tags?: string[]
    summary?: string
    responses?: Record<string, unknown>
    security?: unknown[]
    requestBody?: { content?: Record<string, unknown> }
  }
  let doc: { openapi: string; paths: Record<string, Record<string, Operation>> }

  beforeAll(async () => {
    const res = await h.app.inject({ method: 'GET', url: '/openapi.json' })
    expect(res.statusCode).toBe(200)
    doc = res.json()
  })

  const apiOperations = () =>
    Object.entries(doc.paths)
      .filter(([path]) => path.startsWith('/api/v1/'))
      .flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({ path, method, op })))

  it('is OpenAPI 3.1', () => {
    expect(doc.openapi).toMatch(/^3\.1\./)
  })

  it('lists every ingest operation, both leave operations included', () => {
    const ids = apiOperations().map((o) => o.op.operationId)
    expect(ids).toEqual(
      expect.arrayContaining([
        'createSession',
        'recordPageView',
        'recordPageLeave',
        'recordPageLeaveBeacon',
        'sessionHeartbeat',
        'identifySession',
      ]),
    )
    expect(new Set(ids).size).toBe(ids.length)
    const leave = doc.paths[`${A}/pageview/{id}/leave`]!
    expect(leave.patch?.operationId).toBe('recordPageLeave')
    expect(leave.post?.operationId).toBe('recordPageLeaveBeacon')
  })

  it('every /api/v1 operation has an operationId, tags, a summary, a 200 and declared error responses', () => {
    const ops = apiOperations()
    expect(ops.length).toBeGreaterThanOrEqual(6)
    for (const { path, method, op } of ops) {
      const where = `${method.toUpperCase()} ${path}`
      expect(op.operationId, where).toMatch(/^[a-z][A-Za-z]+$/)
      expect(op.tags?.length, where).toBeGreaterThan(0)
      expect(op.summary, where).toBeTruthy()
      const statuses = Object.keys(op.responses ?? {})
      expect(statuses, where).toContain('200')
      expect(
        statuses.some((s) => /^[45]\d\d$/.test(s)),
        where,
      ).toBe(true)
    }
  })

  it('declares the errors each route can actually answer', () => {
    const op = (path: string, method: string) => doc.paths[`${A}${path}`]![method]!
    expect(Object.keys(op('/session', 'post').responses!)).toEqual(
      expect.arrayContaining(['400', '413', '415', '429']),
    )
    expect(Object.keys(op('/pageview/{id}/leave', 'patch').responses!)).toEqual(
      expect.arrayContaining(['400', '413', '429']),
    )
    expect(Object.keys(op('/session/{id}/heartbeat', 'patch').responses!)).toContain('429')
    expect(Object.keys(op('/session/{id}/identify', 'patch').responses!)).toContain('401')
  })

  it("marks identify and the user's erasure and export as bearer-protected, and only those", () => {
    const bearer = (path: string) =>
      path.endsWith('/identify') || path === `${A}/me` || path === `${A}/me/export`
    for (const { path, op } of apiOperations()) {
      if (bearer(path)) expect(op.security, path).toEqual([{ bearerAuth: [] }])
      else expect(op.security, path).toBeUndefined()
    }
  })

  it('does not list /openapi.json itself', () => {
    expect(doc.paths['/openapi.json']).toBeUndefined()
  })
})
