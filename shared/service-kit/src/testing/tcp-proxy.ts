import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net'

/**
 * A TCP proxy for fault-injection tests: put it between an app and PostgreSQL (point the app's
 * database URL at `proxy.url(realUrl)`) and take the database away and back while traffic runs.
 *
 * - `stop()`: the database is gone: stop listening (new connections are refused) and destroy
 *   every open connection (queries in flight fail).
 * - `blackhole()`: the database host swallows packets: connections are accepted and held, but
 *   nothing is forwarded and nothing comes back (a client can only time out). Open connections
 *   are destroyed first.
 * - `start()`: the database is back: listen again on the same port and forward.
 */
export interface TcpProxy {
  readonly port: number
  /** `databaseUrl` with its host and port replaced by the proxy's. */
  url(databaseUrl: string): string
  start(): Promise<void>
  stop(): Promise<void>
  blackhole(): Promise<void>
  /** Connections accepted since the proxy was created. */
  readonly accepted: number
  close(): Promise<void>
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  let server: Server | undefined
  let port = 0
  let accepted = 0
  let mode: 'forward' | 'blackhole' = 'forward'
  const sockets = new Set<Socket>()

  const track = (socket: Socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    // A destroyed peer must never become an unhandled 'error' event in the test process.
    socket.on('error', () => socket.destroy())
  }

  const onConnection = (client: Socket) => {
    accepted++
    track(client)
    if (mode === 'blackhole') return
    const upstream = tcpConnect(target.port, target.host)
    track(upstream)
    client.pipe(upstream)
    upstream.pipe(client)
    client.on('close', () => upstream.destroy())
    upstream.on('close', () => client.destroy())
  }

  const listen = async () => {
    const s = createServer(onConnection)
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject)
      s.listen(port, '127.0.0.1', () => {
        s.off('error', reject)
        resolve()
      })
    })
    const address = s.address()
    if (address && typeof address === 'object') port = address.port
    server = s
  }

  const shutDown = async () => {
    const s = server
    server = undefined
    for (const socket of sockets) socket.destroy()
    sockets.clear()
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()))
  }

  await listen()
  return {
    get port() {
      return port
    },
    get accepted() {
      return accepted
    },
    url(databaseUrl) {
      const u = new URL(databaseUrl)
      u.hostname = '127.0.0.1'
      u.port = String(port)
      return u.toString()
    },
    async start() {
      await shutDown()
      mode = 'forward'
      await listen()
    },
    stop: shutDown,
    async blackhole() {
      await shutDown()
      mode = 'blackhole'
      await listen()
    },
    close: shutDown,
  }
}
