import { connect, type Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MINUTE } from '../src/index.js'
import { apiSecurityHeaders, captureLogs } from '../src/testing/index.js'
import { bareServiceApp } from './service-app.js'

/**
 * The HTTP edge of every service, on a bare service app (no database): slow connections are cut
 * by the request, header and keep-alive timeouts while normal traffic goes on; what Node's parser
 * rejects is answered in the envelope with the security headers; HEAD shares GET's rate-limit
 * counter; a static path that escapes its root is a 404, not a 500.
 */

const TIMEOUTS = { HEADERS: 1000, REQUEST: 2000, KEEP_ALIVE: 1000 }

async function edgeApp(env: Record<string, string> = {}, logs = captureLogs()) {
  const app = await bareServiceApp({
    env: {
      LOG_LEVEL: 'warn',
      HTTP_HEADERS_TIMEOUT_MS: String(TIMEOUTS.HEADERS),
      HTTP_REQUEST_TIMEOUT_MS: String(TIMEOUTS.REQUEST),
      HTTP_KEEP_ALIVE_TIMEOUT_MS: String(TIMEOUTS.KEEP_ALIVE),
      ...env,
    },
    logger: { level: 'warn', stream: logs.stream },
  })
  const rule = app.rateLimitFor('limitedThing', { max: 3, timeWindow: MINUTE })
  app.get('/limited', { config: { rateLimit: rule } }, async () => ({ ok: true }))
  app.post('/limited', { config: { rateLimit: rule } }, async () => ({ ok: true }))
  app.post('/echo', async (req) => ({ got: req.body }))
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as { port: number }
  return { app, port, logs }
}

interface RawExchange {
  /** Everything the server wrote. */
  text: string
  /** Milliseconds from connect to the server closing the connection. */
  closedAfterMs: number
}

/** Opens a raw connection, lets `drive` write to it, and resolves when the server closes it. */
function rawExchange(port: number, drive: (socket: Socket) => void): Promise<RawExchange> {
  return new Promise((resolve, reject) => {
    const started = Date.now()
    const socket = connect(port, '127.0.0.1')
    let text = ''
    socket.setEncoding('utf8')
    socket.on('data', (chunk) => {
      text += chunk
    })
    socket.on('error', (err) => {
      if ((err as NodeJS.ErrnoException).code !== 'ECONNRESET') reject(err)
    })
    socket.on('close', () => resolve({ text, closedAfterMs: Date.now() - started }))
    socket.on('connect', () => drive(socket))
  })
}

/** Writes `bytes` one character every `everyMs` while the socket is open. */
function trickle(socket: Socket, bytes: string, everyMs: number) {
  let i = 0
  const timer = setInterval(() => {
    if (socket.destroyed || i >= bytes.length) return clearInterval(timer)
    socket.write(bytes[i++]!)
  }, everyMs)
  socket.on('close', () => clearInterval(timer))
}

function envelopeOf(text: string) {
  const [head, body] = text.split('\r\n\r\n', 2) as [string, string]
  const [statusLine, ...lines] = head.split('\r\n')
  const headers = Object.fromEntries(
    lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
  )
  return { status: Number(statusLine!.split(' ')[1]), headers, body: JSON.parse(body) }
}

function expectEdgeError(text: string, status: number, code: string, i18nKey: string) {
  const res = envelopeOf(text)
  expect(res.status).toBe(status)
  expect(res.body).toEqual({
    success: false,
    error: { code, message: expect.any(String), i18nKey, correlationId: res.headers['x-request-id'] },
  })
  expect(res.headers['content-type']).toBe('application/json; charset=utf-8')
  expect(res.headers.connection).toBe('close')
  expect(res.headers).toMatchObject(apiSecurityHeaders('same-site'))
}

describe('slow and idle connections', () => {
  let edge: Awaited<ReturnType<typeof edgeApp>>
  beforeAll(async () => {
    edge = await edgeApp()
  })
  afterAll(async () => {
    await edge?.app.close()
  })

  it('closes twenty stalled or trickling connections on time while normal requests are served', async () => {
    const { port } = edge
    const head =
      'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 20\r\n\r\n'
    const slow = [
      // Headers announce a body that never comes: the request timeout.
      ...Array.from({ length: 7 }, () => rawExchange(port, (s) => s.write(head))),
      // Headers trickle in a byte at a time and never end: the headers timeout.
      ...Array.from({ length: 7 }, () => rawExchange(port, (s) => trickle(s, head, 150))),
      // The body trickles in: the request timeout.
      ...Array.from({ length: 6 }, () =>
        rawExchange(port, (s) => {
          s.write(head)
          trickle(s, '{"a":"aaaaaaaaaaaa"}', 300)
        }),
      ),
    ]
    // Meanwhile ordinary requests, each on a new connection, are answered.
    let served = 0
    const pending = { done: false }
    const traffic = (async () => {
      while (!pending.done) {
        const res = await fetch(`http://127.0.0.1:${port}/healthz`)
        expect(res.status).toBe(200)
        served++
      }
    })()
    const results = await Promise.all(slow)
    pending.done = true
    await traffic

    expect(served).toBeGreaterThan(0)
    for (const [i, r] of results.entries()) {
      const limit = i >= 7 && i < 14 ? TIMEOUTS.HEADERS : TIMEOUTS.REQUEST
      // Cut by the timeout (not before it), well within twice it plus Node's 1 s check interval
      // and a busy machine's scheduling.
      expect(r.closedAfterMs, `connection ${i}`).toBeGreaterThanOrEqual(limit - 50)
      expect(r.closedAfterMs, `connection ${i}`).toBeLessThan(limit * 2 + 10_000)
      expectEdgeError(r.text, 408, 'REQUEST_TIMEOUT', 'common.request_timeout')
    }
  })

  it('closes an idle kept-alive connection after the keep-alive timeout', async () => {
    const r = await rawExchange(edge.port, (s) => s.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'))
    expect(r.text).toMatch(/^HTTP\/1\.1 200 /)
    expect(r.text).toMatch(/keep-alive: timeout=1/i)
    expect(r.closedAfterMs).toBeGreaterThanOrEqual(TIMEOUTS.KEEP_ALIVE - 50)
    expect(r.closedAfterMs).toBeLessThan(TIMEOUTS.KEEP_ALIVE + 10_000)
  })
})

describe("Node's own parser errors", () => {
  let edge: Awaited<ReturnType<typeof edgeApp>>
  beforeAll(async () => {
    edge = await edgeApp()
  })
  afterAll(async () => {
    await edge?.app.close()
  })

  it.each([
    ['a malformed header line', 'GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n'],
    ['a malformed request line', 'GET  HTTP/1.1 nonsense\r\n\r\n'],
    ['a bad Content-Length', 'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: -4\r\n\r\n'],
  ])('answers %s with the 400 envelope and the security headers', async (_name, request) => {
    const r = await rawExchange(edge.port, (s) => s.write(request))
    expectEdgeError(r.text, 400, 'BAD_REQUEST', 'common.bad_request')
  })

  it('answers headers over the size limit with the 431 envelope', async () => {
    const big = `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`
    const r = await rawExchange(edge.port, (s) => s.write(big))
    expectEdgeError(r.text, 431, 'HEADERS_TOO_LARGE', 'common.headers_too_large')
  })
})

describe('HEAD and GET share one rate-limit counter', () => {
  let edge: Awaited<ReturnType<typeof edgeApp>>
  beforeAll(async () => {
    edge = await edgeApp()
  })
  afterAll(async () => {
    await edge?.app.close()
  })

  it('counts GET, HEAD and a second route with the same rule against one allowance', async () => {
    const remaining: string[] = []
    for (const method of ['GET', 'HEAD', 'POST'] as const) {
      const res = await edge.app.inject({ method, url: '/limited', remoteAddress: '10.1.1.1' })
      expect(res.statusCode, method).toBe(200)
      remaining.push(String(res.headers['ratelimit-remaining']))
    }
    expect(remaining).toEqual(['2', '1', '0'])
    for (const method of ['HEAD', 'GET'] as const) {
      const res = await edge.app.inject({ method, url: '/limited', remoteAddress: '10.1.1.1' })
      expect(res.statusCode, method).toBe(429)
    }
    // Another client has its own allowance.
    const other = await edge.app.inject({ method: 'HEAD', url: '/limited', remoteAddress: '10.1.1.2' })
    expect(other.statusCode).toBe(200)
    expect(other.headers['ratelimit-remaining']).toBe('2')
  })
})

describe('rate limits count an IPv6 client by its /64', () => {
  let edge: Awaited<ReturnType<typeof edgeApp>>
  beforeAll(async () => {
    edge = await edgeApp()
  })
  afterAll(async () => {
    await edge?.app.close()
  })

  const hit = (remoteAddress: string) => edge.app.inject({ method: 'GET', url: '/limited', remoteAddress })

  it('two addresses of one /64 share an allowance; another /64 has its own', async () => {
    expect((await hit('2001:db8:7:1::1')).statusCode).toBe(200)
    expect((await hit('2001:db8:7:1:abcd::2')).statusCode).toBe(200)
    expect((await hit('2001:0db8:0007:0001:ffff:ffff:ffff:ffff')).statusCode).toBe(200)
    expect((await hit('2001:db8:7:1::4')).statusCode).toBe(429)
    const other = await hit('2001:db8:7:2::1')
    expect(other.statusCode).toBe(200)
    expect(other.headers['ratelimit-remaining']).toBe('2')
  })
})

describe('the docs static files', () => {
  it.each([
    '/docs/static/%2e%2e/%2e%2e/package.json',
    '/docs/static/..%2f..%2fpackage.json',
    '/docs/static/%2e%2e%2f%2e%2e%2fpackage.json',
    '/docs/static/no-such-file.js',
  ])('GET %s is a 404 in the envelope, with nothing logged as an error', async (path) => {
    const logs = captureLogs()
    const edge = await edgeApp({}, logs)
    try {
      const r = await rawExchange(edge.port, (s) =>
        s.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`),
      )
      const res = envelopeOf(r.text)
      expect(res.status).toBe(404)
      expect(res.body).toMatchObject({
        success: false,
        error: { code: 'NOT_FOUND', i18nKey: 'common.not_found' },
      })
      expect(logs.json().filter((l) => Number(l.level) >= 50)).toEqual([])
    } finally {
      await edge.app.close()
    }
  })

  it('still serves the real static files', async () => {
    const edge = await edgeApp()
    try {
      const r = await rawExchange(edge.port, (s) =>
        s.write('GET /docs/static/index.css HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'),
      )
      expect(r.text).toMatch(/^HTTP\/1\.1 200 /)
    } finally {
      await edge.app.close()
    }
  })
})
