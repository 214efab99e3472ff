import { readFileSync } from 'node:fs'
import {
  createServiceApp,
  type DatabaseHandle,
  type GeoLookup,
  noGeoLookup,
  openDatabase,
  openGeoLookup,
  type ServiceAppOptions,
  verifierOptions,
} from '@bio/service-kit'
import { accessTokenPlugin } from '@bio/token-verifier'
import cookie from '@fastify/cookie'
import type { AuthConfig } from './config.js'
import { type AuthSchema, schema } from './db/schema.js'
import { createAuthService } from './domain/auth-service.js'
import { argon2Hasher, type PasswordHasher } from './domain/password-hasher.js'
import { deprioritizeWorkerThreads } from './lib/thread-priority.js'
import { fileTransport, type MailTransport, smtpTransport } from './mail/mail-transport.js'
import { createOutboxSender } from './mail/outbox-sender.js'
import { backgroundJobs } from './plugins/background-jobs.js'
import { authRoutes } from './routes/auth-routes.js'
import { jwksRoute } from './routes/jwks-route.js'
import { AUTH_PREFIX } from './routes/prefix.js'
import { type AccessTokenSigner, createAccessTokenSigner } from './tokens/access-token-signer.js'

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string
}

export interface BuildAuthAppOptions {
  config: AuthConfig
  /** An open database; by default one is opened from `config.db`. */
  database?: DatabaseHandle<AuthSchema>
  hasher?: PasswordHasher
  geo?: GeoLookup
  now?: () => Date
  sign?: AccessTokenSigner
  logger?: ServiceAppOptions['logger']
  /** Close the database with the app (after queued writes are flushed); default: when the app opened it. */
  closeDatabase?: boolean
  /** Where mail goes; by default SMTP when SMTP_URL is set, `.eml` files otherwise. */
  mailTransport?: MailTransport
}

/** Builds the auth service: shared HTTP conventions, cookies, token verification, the auth routes. */
export async function buildAuthApp(options: BuildAuthAppOptions) {
  const { config } = options
  const database = options.database ?? (await openDatabase(config.db, schema))
  const app = await createServiceApp({
    name: 'auth',
    title: 'BIO.RE auth service',
    description: 'Accounts, sign-in and rotating refresh tokens.',
    version,
    http: config.http,
    bodyLimit: config.bodyLimit,
    ready: database.ping,
    logger: options.logger,
  })
  const now = options.now ?? (() => new Date())
  const sender = createOutboxSender({
    db: database.db,
    config,
    transport:
      options.mailTransport ??
      (config.mail.smtpUrl ? smtpTransport(config.mail) : fileTransport(config.mail, app.log)),
    now,
    log: app.log.child({ component: 'mail' }),
  })
  backgroundJobs(app, {
    database,
    config,
    sender,
    now,
    closeDatabase: options.closeDatabase ?? !options.database,
  })
  const service = createAuthService({
    db: database.db,
    config,
    hasher: options.hasher ?? argon2Hasher(config.argon2),
    geo: options.geo ?? (config.geoipDbPath ? await openGeoLookup(config.geoipDbPath) : noGeoLookup),
    sign: options.sign ?? createAccessTokenSigner(config.tokens),
    now,
    log: app.log,
    wakeMailer: sender.wake,
  })
  // Once argon2 has started libuv's thread pool, let the event loop come first (see thread-priority.ts).
  void service.warmUp.then(() => {
    const threads = deprioritizeWorkerThreads(config.hashThreadNiceness)
    app.log.debug({ threads }, 'worker threads deprioritized')
  })
  await app.register(cookie)
  await app.register(accessTokenPlugin, verifierOptions(config.tokens))
  await app.register(authRoutes, { prefix: AUTH_PREFIX, service, config })
  await app.register(jwksRoute, { config })
  return app
}
